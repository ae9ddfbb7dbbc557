"""Kernel tasks: thin, idempotent, safe to run twice."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from oms.models import IdempotencyRecord
from oms.queueing import enqueue, kick_taken
from oms.services import events, webhooks


@shared_task(name="oms.dispatch_events", acks_late=True)
def dispatch_events_task() -> int:
    kick_taken(dispatch_events_task)
    return events.dispatch_events()


@shared_task(
    name="oms.deliver_webhook",
    acks_late=True,
    soft_time_limit=60,
    time_limit=90,
)
def deliver_webhook_task(delivery_id: int) -> None:
    webhooks.delivery_attempt(delivery_id=delivery_id)


@shared_task(name="oms.sweep_outbox")
def sweep_outbox() -> dict:
    """Re-derive the work from the database: events not yet sequenced, deliveries
    due. A lost message, a killed worker or a Redis outage only delays delivery."""
    sequenced = events.dispatch_events()
    due = webhooks.due_delivery_ids()
    for delivery_id in due:
        enqueue(deliver_webhook_task, delivery_id)
    return {"sequenced": sequenced, "due_deliveries": len(due)}


@shared_task(name="oms.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    cutoff = timezone.now() - timedelta(hours=settings.OMS_IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


@shared_task(name="oms.run_job", acks_late=True)
def run_job_task(job_id: int) -> None:
    """One chunk of a job, then the next chunk as a new message, so other work
    interleaves and a killed worker loses at most the row in flight. In-process
    (eager) mode works through the chunks in a loop instead of nesting calls."""
    from oms.services import jobs  # services import this module (enqueue)

    while jobs.job_run_chunk(job_id=job_id):
        if not run_job_task.app.conf.task_always_eager:
            enqueue(run_job_task, job_id)
            return


@shared_task(name="oms.resume_stale_jobs")
def resume_stale_jobs() -> list[int]:
    """Re-enqueue jobs that no runner works on (a lost message, a killed worker)."""
    from oms.services import jobs

    return jobs.jobs_resume_stale()
