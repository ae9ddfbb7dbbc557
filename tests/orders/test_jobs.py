"""Bulk approve and cancel as background jobs: real runs, dry runs, partial
failures, idempotency (eager Celery: the job runs when its creation commits)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from oms.models import Event, Job, JobRow, StateTransition
from oms.services import jobs
from oms.tasks import run_job_task
from orders.models import Order


@pytest.fixture
def csr(make_user):
    return make_user("csr")


@pytest.fixture
def run_job(django_capture_on_commit_callbacks):
    """Create a job as a page would; it runs when the creation commits."""

    def create(**kwargs) -> Job:
        with django_capture_on_commit_callbacks(execute=True):
            job = jobs.job_create(**kwargs)
        job.refresh_from_db()
        return job

    return create


def outcomes(job: Job) -> list[tuple[str, str, str]]:
    return [
        (row.data["number"], row.status, row.reason or row.result)
        for row in job.rows.order_by("line")
    ]


def test_bulk_cancel_cancels_each_order_and_reports_each_row(
    csr, opened_order, run_job
):
    first, second = opened_order(), opened_order()

    job = run_job(
        kind="orders.cancel",
        rows=[{"number": first.number}, {"number": second.number}],
        params={"reason": "Customer asked"},
        actor=csr,
    )

    assert (job.status, job.rows_total, job.rows_succeeded) == ("succeeded", 2, 2)
    assert job.progress_percent == 100
    assert set(Order.objects.values_list("status", flat=True)) == {"cancelled"}
    assert outcomes(job) == [
        (first.number, "succeeded", "Cancelled; 55.00 USD credited to the customer."),
        (second.number, "succeeded", "Cancelled; 55.00 USD credited to the customer."),
    ]
    cancelled = Event.objects.filter(name="order.cancelled")
    assert {e.payload["reason"] for e in cancelled} == {"Customer asked"}
    assert Event.objects.get(name="job.finished").payload["rows_succeeded"] == 2


def test_partial_failures_say_why_and_the_rest_is_applied(csr, opened_order, run_job):
    order = opened_order()
    already = opened_order()
    jobs_before = Job.objects.count()
    run_job(
        kind="orders.cancel",
        rows=[{"number": already.number}],
        params={"reason": "first"},
        actor=csr,
    )

    job = run_job(
        kind="orders.cancel",
        rows=[
            {"number": order.number},
            {"number": "NO-SUCH"},
            {"number": already.number},
            {"number": ""},
        ],
        params={"reason": "Fraud"},
        actor=csr,
    )

    assert Job.objects.count() == jobs_before + 2
    assert job.status == "partly_failed"
    assert (job.rows_succeeded, job.rows_failed) == (1, 3)
    assert outcomes(job) == [
        (order.number, "succeeded", "Cancelled; 55.00 USD credited to the customer."),
        ("NO-SUCH", "failed", "No order NO-SUCH."),
        (
            already.number,
            "failed",
            f"Order {already.number} is cancelled; it can no longer be changed.",
        ),
        ("", "failed", "No order number on this row."),
    ]


def test_a_dry_run_reports_what_would_happen_and_changes_nothing(
    csr, opened_order, run_job
):
    order = opened_order()
    held = opened_order()
    counts = (
        Event.objects.count(),
        StateTransition.objects.count(),
        Order.objects.filter(status="cancelled").count(),
    )

    job = run_job(
        kind="orders.cancel",
        rows=[{"number": order.number}, {"number": "NO-SUCH"}],
        params={"reason": "Fraud"},
        actor=csr,
        dry_run=True,
    )

    assert job.status == "partly_failed"
    assert outcomes(job) == [
        (
            order.number,
            "succeeded",
            "Would cancel 3 units and credit 55.00 USD to the customer.",
        ),
        ("NO-SUCH", "failed", "No order NO-SUCH."),
    ]
    # Only the job's own bookkeeping was written: its start/finish transitions and
    # its job.finished event; no order changed.
    assert (
        Event.objects.exclude(name="job.finished").count(),
        StateTransition.objects.exclude(entity_type="job").count(),
        Order.objects.filter(status="cancelled").count(),
    ) == counts
    assert held.status == "opened"


def test_confirming_a_dry_run_runs_the_same_rows_for_real_once(
    csr, opened_order, run_job, django_capture_on_commit_callbacks
):
    order = opened_order()
    preview = run_job(
        kind="orders.cancel",
        rows=[{"number": order.number}],
        params={"reason": "Fraud"},
        actor=csr,
        dry_run=True,
    )

    with django_capture_on_commit_callbacks(execute=True):
        real = jobs.job_confirm(job=preview, actor=csr)
    real.refresh_from_db()

    assert (real.dry_run, real.preview_of, real.status) == (False, preview, "succeeded")
    order.refresh_from_db()
    assert order.status == "cancelled"
    with pytest.raises(jobs.Conflict):
        jobs.job_confirm(job=preview, actor=csr)


def test_bulk_approve_approves_held_orders_and_refuses_the_others(
    csr, channel, opened_order, run_job
):
    channel.order_value_limit = Decimal("50.00")
    channel.save()
    held = opened_order()
    channel.order_value_limit = None
    channel.save()
    not_held = opened_order()

    job = run_job(
        kind="orders.approve",
        rows=[{"number": held.number}, {"number": not_held.number}],
        params={"comment": "Checked with the customer"},
        actor=csr,
    )

    held.refresh_from_db()
    assert (held.status, held.queue) == ("opened", "brokering")
    assert outcomes(job) == [
        (held.number, "succeeded", "Approved; now in Brokering."),
        (
            not_held.number,
            "failed",
            "It is opened; only orders on hold can be approved.",
        ),
    ]


def test_running_the_task_again_applies_no_row_twice(csr, opened_order, run_job):
    order = opened_order()
    job = run_job(
        kind="orders.cancel",
        rows=[{"number": order.number}],
        params={"reason": "Fraud"},
        actor=csr,
    )

    run_job_task.delay(job.pk)
    run_job_task.delay(job.pk)

    job.refresh_from_db()
    assert (job.status, job.rows_succeeded, job.rows_failed) == ("succeeded", 1, 0)
    assert Event.objects.filter(name="order.cancelled").count() == 1
    assert JobRow.objects.get(job=job).status == "succeeded"


def test_a_role_without_the_action_may_not_create_the_job(make_user, opened_order):
    order = opened_order()
    with pytest.raises(jobs.PermissionDenied):
        jobs.job_create(
            kind="orders.cancel",
            rows=[{"number": order.number}],
            params={"reason": "x"},
            actor=make_user("store_associate"),
        )


def test_a_cancel_job_needs_a_reason(csr, opened_order):
    with pytest.raises(jobs.ApplicationError) as refused:
        jobs.job_create(
            kind="orders.cancel", rows=[{"number": "X"}], params={}, actor=csr
        )
    assert refused.value.field_errors == {"reason": ["Reason is required."]}
    assert not Job.objects.exists()


def test_cancelling_a_job_skips_the_rows_not_yet_done(csr, opened_order):
    order = opened_order()
    job = jobs.job_create(  # not committed: no runner has started it
        kind="orders.cancel",
        rows=[{"number": order.number}, {"number": "OTHER"}],
        params={"reason": "Fraud"},
        actor=csr,
    )

    jobs.job_cancel(job=job, actor=csr)

    job.refresh_from_db()
    assert (job.status, job.rows_skipped, job.progress_percent) == ("cancelled", 2, 100)
    assert {row.reason for row in job.rows.all()} == {"The job was cancelled."}
    run_job_task.delay(job.pk)
    order.refresh_from_db()
    assert order.status == "opened"
    with pytest.raises(TransitionNotAllowed):
        jobs.job_cancel(job=job, actor=csr)


def test_the_sweep_runs_a_job_whose_message_was_lost(
    csr, opened_order, django_capture_on_commit_callbacks
):
    order = opened_order()
    job = jobs.job_create(  # its enqueue never happens: the message is "lost"
        kind="orders.cancel",
        rows=[{"number": order.number}],
        params={"reason": "Fraud"},
        actor=csr,
    )
    assert jobs.jobs_resume_stale() == []  # too recent to be stale
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(hours=1))

    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.jobs_resume_stale() == [job.pk]

    job.refresh_from_db()
    order.refresh_from_db()
    assert (job.status, order.status) == ("succeeded", "cancelled")
    assert jobs.jobs_resume_stale() == []  # finished jobs are left alone


def test_a_repeated_order_number_is_skipped_as_a_duplicate(csr, opened_order, run_job):
    order = opened_order()

    job = run_job(
        kind="orders.release",
        rows=[{"number": order.number}, {"number": f" {order.number} "}],
        params={},
        actor=csr,
    )

    assert outcomes(job)[1] == (order.number, "skipped", "Duplicate of line 1.")
    assert (job.rows_failed, job.rows_skipped) == (1, 1)
