"""Real Celery workers for integration tests: a thread (start_worker) or a process."""

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import pytest
from celery.fixups.django import DjangoWorkerFixup
from django.conf import settings
from django.db import connection

from oms.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent

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
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge(celery_app.conf.task_default_queue)


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


class WorkerProcess:
    """`celery worker` as a real process on this test's queue and test database."""

    def __init__(self, **extra_env: str):
        self.env = {
            **os.environ,
            "DATABASE_URL": test_database_url(),
            "CELERY_QUEUE": celery_app.conf.task_default_queue,
            "OMS_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
            **extra_env,
        }
        self.env.pop("PYTEST_XDIST_WORKER", None)
        self.process: subprocess.Popen | None = None

    def start(self) -> "WorkerProcess":
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "oms",
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                "2",
                "-l",
                "warning",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
            ],
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
        )
        return self

    def kill(self) -> None:
        """SIGKILL the worker and its children, as a crash would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
