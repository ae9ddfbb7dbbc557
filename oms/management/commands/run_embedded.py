"""Serve the app with no services: SQLite, tasks in-process, and the periodic
sweeps run by an in-process Celery beat thread (the same schedules as services mode)."""

from celery.beat import EmbeddedService
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from oms.celery import app


class Command(BaseCommand):
    help = "Run the web server with the scheduled jobs in-process (embedded mode)."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport: str, **options):
        if not settings.CELERY_EMBEDDED:
            raise CommandError(
                "REDIS_URL is set: start a worker and beat instead (see README)."
            )
        beat = EmbeddedService(
            app,
            thread=True,
            scheduler_cls="django_celery_beat.schedulers:DatabaseScheduler",
        )
        beat.start()
        self.stdout.write("Scheduled jobs run in-process (embedded Celery beat).")
        call_command("runserver", addrport, use_reloader=False, use_threading=True)
