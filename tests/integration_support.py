"""Real Celery workers for integration tests: a thread (start_worker) or a process."""

import time
from contextlib import contextmanager
from unittest import mock

import pytest
from celery.fixups.django import DjangoWorkerFixup
from django.conf import settings
from django.db import connection

from oms.celery import app as celery_app
from oms.queueing import kick_taken
from oms.tasks import dispatch_events_task
from tests.servers import CeleryProcess

needs_services = pytest.mark.skipif(
    not settings.REDIS_URL or connection.vendor != "postgresql",
    reason="needs services mode (REDIS_URL and a PostgreSQL DATABASE_URL), as in CI",
)


def wait_until(predicate, *, timeout: float, interval: float = 0.2, message=""):
    """Poll `predicate` until true; `message` may be a callable for the state at the
    time of failure."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    detail = message() if callable(message) else message
    raise AssertionError(f"timed out after {timeout}s: {detail}")


def purge_queue() -> None:
    """Drop this queue's messages, and with them the dispatcher's pending wake-up."""
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge(celery_app.conf.task_default_queue)
    kick_taken(dispatch_events_task)


@contextmanager
def worker_thread():
    from celery.contrib.testing.worker import start_worker

    # Celery's Django fix-up closes every open database socket when a pool starts: right
    # for a forked child, but with a thread worker it breaks this process's own
    # connection, so that one hook is switched off while the thread worker runs.
    with (
        mock.patch.object(
            DjangoWorkerFixup, "on_worker_process_init", lambda self, **kw: None
        ),
        start_worker(
            celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30
        ),
    ):
        yield


def test_database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def services_env(**extra: str) -> dict:
    """The environment of a server process working on this test's database and
    Celery queue (the xdist suffix is already part of the queue name)."""
    return {
        "DATABASE_URL": test_database_url(),
        "CELERY_QUEUE": celery_app.conf.task_default_queue,
        "PYTEST_XDIST_WORKER": None,
        "OMS_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
        **extra,
    }


class WorkerProcess(CeleryProcess):
    """`celery worker` as a real process on this test's queue and test database;
    `app` may name a test module that adjusts the real Celery app
    (tests/fault_worker.py)."""

    def __init__(self, *, app: str = "oms", **extra_env: str):
        super().__init__("worker", app=app, env=services_env(**extra_env))


def publish(task, *, broker_url: str, **kwargs) -> None:
    """Send `task` to this test's queue on another broker (a private Redis)."""
    with celery_app.connection_for_write(broker_url) as connection:
        task.apply_async(kwargs=kwargs, connection=connection)
