"""Workflow tasks: thin, and safe to run twice (a run another worker holds is
skipped, one already run is no longer pending; an asynchronous step may run again
after a crash, at least once)."""

from celery import shared_task

from oms.queueing import enqueue, kick, kick_taken
from orders.workflows import runner

PENDING_BATCH = 200


@shared_task(name="workflows.run_pending_steps", acks_late=True)
def run_pending_steps_task() -> None:
    """Run every pending asynchronous step; a full batch kicks the next one."""
    kick_taken(run_pending_steps_task)
    work = runner.pending_work(limit=PENDING_BATCH)
    for order_id, stage in work:
        while runner.run_pending_steps(order_id=order_id, stage=stage):
            pass
    if len(work) == PENDING_BATCH:
        kick(run_pending_steps_task)


@shared_task(
    name="workflows.retry_run", acks_late=True, soft_time_limit=90, time_limit=120
)
def retry_run_task(run_id: int) -> None:
    runner.run_retry(run_id=run_id)


@shared_task(name="workflows.retry_due_runs")
def retry_due_runs() -> int:
    """Beat sweep: failed asynchronous steps whose back-off has passed, and
    pending ones whose task was lost (a broker outage at commit, a dead worker)."""
    retries, pending = runner.due_runs()
    for run_id in retries:
        enqueue(retry_run_task, run_id)
    if pending:
        enqueue(run_pending_steps_task)
    return len(retries) + len(pending)
