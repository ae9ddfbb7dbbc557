"""Workflow tasks: thin, and safe to run twice (a step whose run a worker holds is
skipped; an asynchronous step may run again after a crash, at least once)."""

from celery import shared_task

from oms.queueing import enqueue
from orders.workflows import runner


@shared_task(name="workflows.run_async_steps", acks_late=True)
def run_async_steps_task(*, order_type: str, stage: str, orders: list) -> None:
    for order_id, prior_results in orders:
        runner.run_async_steps(
            order_type=order_type,
            stage=stage,
            order_id=order_id,
            prior_results=prior_results,
        )


@shared_task(
    name="workflows.retry_run", acks_late=True, soft_time_limit=90, time_limit=120
)
def retry_run_task(run_id: int) -> None:
    runner.run_retry(run_id=run_id)


@shared_task(name="workflows.retry_due_runs")
def retry_due_runs() -> int:
    """Beat sweep: failed asynchronous steps whose back-off has passed."""
    due = runner.due_retry_ids()
    for run_id in due:
        enqueue(retry_run_task, run_id)
    return len(due)
