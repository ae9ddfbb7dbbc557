"""Asynchronous steps through a real `celery worker` process on Redis: the
pending runs written by a batch intake are claimed and run, a failed one is
retried by the beat sweep once its cause is gone, and duplicate kicks (a
redelivered message, two sweeps) run nothing twice."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.intake import orders_import
from orders.models import Order
from orders.workflows.models import WorkflowStepRun
from orders.workflows.tasks import retry_due_runs, run_pending_steps_task
from tests.integration_support import (
    WorkerProcess,
    needs_services,
    purge_queue,
    wait_until,
)
from tests.orders.conftest import order_input
from tests.orders.workflows.fault_actions import ERP_DOWN

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    needs_services,
]


def runs() -> list[tuple[str, str, str, int]]:
    return sorted(
        WorkflowStepRun.objects.values_list(
            "order__external_id", "step_name", "result", "attempts"
        )
    )


def kick_again() -> None:
    """What a redelivered message and a second sweep would do."""
    run_pending_steps_task.delay()
    retry_due_runs.delay()


def test_a_real_worker_runs_pending_steps_retries_and_runs_nothing_twice(
    without_seeded_steps, add_step, channel, products
):
    purge_queue()
    after_commit = {"timing": "async"}
    add_step(
        "created", "record_note", {"text": "confirmed"}, name="Note", **after_commit
    )
    add_step(
        "created", "test_erp_export", {}, name="ERP", stop_on_error=True, **after_commit
    )
    add_step("created", "add_tags", {"tags": ["exported"]}, name="Tag", **after_commit)
    orders_import(
        orders=[
            order_input(external_id="DOWN", tags=[ERP_DOWN]),
            *[order_input(external_id=f"OK-{n}") for n in range(4)],
        ]
    )
    assert {result for *_, result, _ in runs()} == {"pending"}

    worker = WorkerProcess(app="tests.fault_worker").start()
    try:
        kick_again()
        wait_until(
            lambda: (
                ("DOWN", "ERP", "retrying", 1) in runs() and len(runs()) == 2 + 3 * 4
            ),
            timeout=60,
            message=runs,
        )
        Order.objects.filter(external_id="DOWN").update(tags=[])  # the ERP is back
        WorkflowStepRun.objects.filter(result="retrying").update(
            next_attempt_at=timezone.now() - timedelta(seconds=1)
        )
        kick_again()
        retry_due_runs.delay()
        wait_until(lambda: len(runs()) == 3 * 5, timeout=60, message=runs)
    finally:
        worker.stop()

    assert runs() == sorted(
        [
            ("DOWN", "Note", "success", 1),
            ("DOWN", "ERP", "success", 2),
            ("DOWN", "Tag", "success", 1),
            *[
                (f"OK-{n}", step, "success", 1)
                for n in range(4)
                for step in ("Note", "ERP", "Tag")
            ],
        ]
    )
    for order in Order.objects.all():
        assert order.notes.count("confirmed") == 1
        assert order.tags.count("exported") == 1
