"""Asynchronous steps are rows before they are messages: a pending run is written
with the transition, a lost task is picked up by the sweep, and a claimed run is
never run by a second worker."""

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from orders.intake import order_create
from orders.workflows.models import WorkflowStepRun
from orders.workflows.runner import run_pending_steps, run_stage
from orders.workflows.tasks import retry_due_runs, run_pending_steps_task
from tests.orders.conftest import order_input

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down(monkeypatch):
    """Publishing the kick fails, as with Redis down at commit."""

    def refuse(*args, **kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379.")

    monkeypatch.setattr(run_pending_steps_task, "apply_async", refuse)


def place_without_kick(**overrides):
    """An intake whose after-commit kick never reaches a worker."""
    order, _ = order_create(data=order_input(**overrides))
    return order


def pending_run_of(order):
    return WorkflowStepRun.objects.get(order=order, result="pending")


def test_the_transition_writes_a_pending_run_for_each_async_step(channel, products):
    order = place_without_kick()

    run = pending_run_of(order)
    assert (run.step_name, run.stage, run.attempts) == (
        "Order confirmation",
        "created",
        0,
    )
    assert mail.outbox == []


def test_the_sweep_runs_a_pending_step_whose_task_was_lost(
    channel, products, settings, broker_down, monkeypatch
):
    settings.OMS_WORKFLOW_PENDING_GRACE_SECONDS = 60
    order = place_without_kick()
    monkeypatch.undo()  # the broker is back
    assert retry_due_runs() == 0  # its task may still be on the way

    WorkflowStepRun.objects.filter(order=order).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    assert retry_due_runs() == 1

    run = WorkflowStepRun.objects.get(order=order)
    assert (run.result, run.attempts, run.next_attempt_at) == ("success", 1, None)
    assert [message.subject for message in mail.outbox] == [
        f"Your order {order.number} is confirmed"
    ]


def test_a_pending_run_is_run_once_however_often_it_is_kicked(channel, products):
    order = place_without_kick()

    assert run_pending_steps(order_id=order.pk, stage="created") == 1
    assert run_pending_steps(order_id=order.pk, stage="created") == 0

    assert len(mail.outbox) == 1
    assert WorkflowStepRun.objects.get(order=order).result == "success"


def test_a_pending_run_whose_step_does_not_apply_is_removed(
    without_seeded_steps, add_step, channel, products
):
    add_step("created", "add_tags", {"tags": ["web"]}, timing="async")
    add_step(
        "created",
        "add_tags",
        {"tags": ["vip"]},
        timing="async",
        enabled_for={"tags": ["vip"]},
    )
    order = place_without_kick()
    assert WorkflowStepRun.objects.filter(order=order, result="pending").count() == 2

    run_pending_steps(order_id=order.pk, stage="created")

    order.refresh_from_db()
    assert order.tags == ["web"]
    assert list(
        WorkflowStepRun.objects.filter(order=order).values_list("result", flat=True)
    ) == ["success"]


@pytest.mark.django_db(transaction=True)
def test_a_run_claimed_by_another_worker_is_skipped(channel, products, broker_down):
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's")
    order = place_without_kick()
    claimed, release = threading.Event(), threading.Event()

    def other_worker() -> None:
        try:
            with transaction.atomic():
                list(
                    WorkflowStepRun.objects.select_for_update().filter(
                        order=order, result="pending"
                    )
                )
                claimed.set()
                release.wait(10)
        finally:
            close_old_connections()
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    assert claimed.wait(10)
    try:
        assert run_pending_steps(order_id=order.pk, stage="created") == 0
    finally:
        release.set()
        thread.join()

    assert mail.outbox == []
    assert pending_run_of(order).attempts == 0


def test_a_stage_entered_twice_before_a_worker_came_runs_its_steps_twice(
    without_seeded_steps, add_step, channel, products
):
    add_step("created", "record_note", {"text": "hello"}, timing="async")
    order = place_without_kick()
    run_stage(orders=[order], stage="created")

    run_pending_steps_task()

    order.refresh_from_db()
    assert order.notes.count("hello") == 2
    assert list(
        WorkflowStepRun.objects.filter(order=order).values_list("result", flat=True)
    ) == ["success", "success"]
