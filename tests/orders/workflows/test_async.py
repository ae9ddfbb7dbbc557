"""Steps that run after commit: the seeded notifications, retries with back-off,
and the retry by hand."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from oms.errors import Conflict
from oms.models import Event, WebhookDelivery, WebhookSubscription
from oms.services.events import dispatch_events
from orders.workflows.models import WorkflowStep, WorkflowStepRun
from orders.workflows.runner import run_retry, run_stage
from orders.workflows.tasks import retry_due_runs
from tests.orders.workflows.conftest import FAILING

pytestmark = pytest.mark.django_db


def test_a_new_order_gets_the_seeded_confirmation_email(place_order):
    order = place_order()

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ada@example.com"]
    assert mail.outbox[0].subject == f"Your order {order.number} is confirmed"
    assert "2 × SKU-A" in mail.outbox[0].body
    run = WorkflowStepRun.objects.get(order=order)
    assert (run.step_name, run.timing, run.result) == (
        "Order confirmation",
        "async",
        "success",
    )


def test_no_email_address_is_a_warning(place_order):
    order = place_order(customer_email="")

    assert mail.outbox == []
    assert WorkflowStepRun.objects.get(order=order).result == "warning"


def make_due(run):
    WorkflowStepRun.objects.filter(pk=run.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def test_a_failed_async_step_is_retried_with_back_off_until_it_succeeds(
    without_seeded_steps, broken, add_step, place_order, settings
):
    settings.OMS_WORKFLOW_RETRY_BACKOFF_SECONDS = [60, 300]
    add_step("created", *FAILING, name="Export", timing="async", stop_on_error=True)
    add_step("created", "export_to_connector", {"connector": "wms"}, timing="async")
    add_step("created", "add_tags", {"tags": ["exported"]}, name="Tag", timing="async")
    before = timezone.now()

    order = place_order()

    run = WorkflowStepRun.objects.get(order=order)
    assert run.result == "retrying" and run.attempts == 1
    assert run.message == "The ERP is down."
    assert before + timedelta(seconds=59) < run.next_attempt_at
    assert retry_due_runs() == 0  # not due yet

    broken["now"] = False  # the ERP is back
    WebhookSubscription.objects.create(
        name="WMS",
        url="https://wms.example.com/in",
        secret="whsec_x",
        event_patterns=["order.exported.wms"],
    )
    make_due(run)
    assert retry_due_runs() == 1
    dispatch_events()  # the outbox's own after-commit step

    run.refresh_from_db()
    order.refresh_from_db()
    assert (run.result, run.attempts, run.next_attempt_at) == ("success", 2, None)
    assert order.tags == ["exported"]  # the steps it had stopped run now
    event = Event.objects.get(name="order.exported.wms")
    assert event.payload["number"] == order.number
    assert WebhookDelivery.objects.get(event=event).subscription.name == "WMS"


def test_after_the_last_retry_the_step_is_an_error_retried_by_hand(
    without_seeded_steps, broken, add_step, place_order, settings
):
    settings.OMS_WORKFLOW_RETRY_BACKOFF_SECONDS = [60]
    add_step("created", *FAILING, timing="async")
    order = place_order()
    run = WorkflowStepRun.objects.get(order=order)
    with pytest.raises(Conflict):
        run_retry(run_id=run.pk, by_hand=True)  # still retrying by itself

    make_due(run)
    run_retry(run_id=run.pk)

    run.refresh_from_db()
    assert (run.result, run.attempts, run.next_attempt_at) == ("error", 2, None)
    run_retry(run_id=run.pk, by_hand=True)
    run.refresh_from_db()
    assert (run.result, run.attempts) == ("error", 3)
    broken["now"] = False
    run_retry(run_id=run.pk, by_hand=True)
    run.refresh_from_db()
    assert (run.result, run.attempts, run.message) == (
        "success",
        4,
        "Worked this time.",
    )


def test_the_seeded_erp_export_only_warns_until_its_connector_is_set_up(
    place_order, django_capture_on_commit_callbacks
):
    order = place_order()
    step = WorkflowStep.objects.get(
        order_type__code="standard", stage="shipped", action="export_to_connector"
    )

    with django_capture_on_commit_callbacks(execute=True):
        run_stage(orders=[order], stage="shipped")

    run = WorkflowStepRun.objects.get(order=order, step=step)
    assert run.result == "warning"
    assert "not set up" in run.message
    assert not Event.objects.filter(name__startswith="order.exported").exists()
    assert not WebhookDelivery.objects.exists()
