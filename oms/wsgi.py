import os
from importlib import import_module

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from oms.gc_tuning import settle_startup_objects

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")
application = get_wsgi_application()
# The URLconf imports every view, serializer and form: load it now, so that it is
# part of what start-up leaves to the permanent generation.
import_module(settings.ROOT_URLCONF)
settle_startup_objects()
