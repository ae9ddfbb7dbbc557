import logging

from django.conf import settings
from django.db import connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.api.permissions import Public
from oms.celery import app as celery_app

logger = logging.getLogger(__name__)


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


# Each probe opens its own broker connection rather than the app's shared pool, so a
# failed probe never leaves a broken connection behind for the task producers.


def _broker() -> str:
    if settings.CELERY_EMBEDDED:
        return "ok (in-process)"
    with celery_app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


def _worker() -> str:
    if settings.CELERY_EMBEDDED:
        return "ok (in-process)"
    with celery_app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
        replies = celery_app.control.ping(timeout=1.0, connection=conn)
    if not replies:
        raise RuntimeError("no worker answered a ping within 1 s")
    return f"ok ({len(replies)} worker(s))"


class HealthApi(APIView):
    """Database, broker and worker status: 200 when all are up, else 503."""

    permission_classes = [Public]
    authentication_classes: list = []

    @extend_schema(
        responses={
            200: inline_serializer(
                "Health",
                {"status": serializers.CharField(), "checks": serializers.DictField()},
            ),
            503: inline_serializer(
                "HealthDown",
                {"status": serializers.CharField(), "checks": serializers.DictField()},
            ),
        }
    )
    def get(self, request):
        checks, healthy = {}, True
        for name, probe in (
            ("database", _database),
            ("broker", _broker),
            ("worker", _worker),
        ):
            try:
                checks[name] = probe()
            except Exception:  # every failure is a finding, not a crash
                # The endpoint is public: the cause (hosts, users) goes to the log.
                logger.warning("Health check %s failed", name, exc_info=True)
                checks[name] = "down"
                healthy = False
        body = {"status": "ok" if healthy else "unavailable", "checks": checks}
        return Response(body, status=200 if healthy else 503)
