"""The web and worker processes leave their start-up objects to the permanent
generation, so that the collector does not walk them again on every request."""

import subprocess
import sys

from oms.gc_tuning import YOUNG_GENERATION_THRESHOLD

REPORT = "import gc; print(gc.get_freeze_count(), gc.get_threshold()[0])"


def _frozen_and_threshold(start_up: str) -> tuple[int, int]:
    """What the collector looks like in a fresh interpreter after `start_up`."""
    output = subprocess.run(
        [sys.executable, "-c", f"{start_up}\n{REPORT}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    frozen, threshold = output.split()[-2:]
    return int(frozen), int(threshold)


def test_the_wsgi_application_freezes_what_start_up_loaded():
    frozen, threshold = _frozen_and_threshold("import oms.wsgi")

    # Every app's models, views and serializers: far more than a bare interpreter.
    assert frozen > 100_000
    assert threshold == YOUNG_GENERATION_THRESHOLD


def test_a_celery_pool_process_freezes_once_forked():
    frozen, threshold = _frozen_and_threshold(
        "import django; django.setup()\n"
        "from celery.signals import worker_process_init\n"
        "from oms.celery import app\n"
        "app.loader.import_default_modules()\n"
        "worker_process_init.send(sender=None)"
    )

    assert frozen > 100_000
    assert threshold == YOUNG_GENERATION_THRESHOLD


def test_a_bare_interpreter_keeps_the_default_collector():
    # What the two tests above compare against.
    frozen, threshold = _frozen_and_threshold("import oms.settings")

    assert frozen == 0
    assert threshold != YOUNG_GENERATION_THRESHOLD
