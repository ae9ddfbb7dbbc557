import os

from celery import Celery
from celery.signals import worker_process_init

from oms.gc_tuning import settle_startup_objects

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")

app = Celery("oms")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def settle_worker_startup_objects(**kwargs) -> None:
    """Each pool process, once forked with the tasks loaded: see `oms.gc_tuning`."""
    settle_startup_objects()
