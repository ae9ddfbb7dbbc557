"""Kernel tasks: thin, idempotent, safe to run twice."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from oms.models import IdempotencyRecord
from oms.queueing import enqueue
from oms.services import events, webhooks


@shared_task(name="oms.dispatch_events", acks_late=True)
def dispatch_events_task() -> int:
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
