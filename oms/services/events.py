"""Recording domain events (the outbox) and sequencing them for consumers."""

import fnmatch
import json
from collections.abc import Iterable
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils import timezone

from oms import tasks
from oms.bulk import insert_rows
from oms.models import Event, WebhookDelivery, WebhookSubscription
from oms.queueing import enqueue_on_commit, kick

SEQUENCER_LOCK_ID = 7_341_001
SEQUENCE_BATCH_SIZE = 500


def entity_type_of(entity: models.Model) -> str:
    """`fulfillment_request` for `FulfillmentRequest`; a model may override it."""
    explicit = getattr(entity, "event_entity_type", None)
    if explicit:
        return explicit
    name = type(entity).__name__
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def actor_name(actor) -> str:
    """Who did it, as events and timelines name them: the username, or "system"
    for the sweeps and integrations' automatic steps."""
    return actor.get_username() if actor else "system"


def json_safe(payload: dict[str, Any]) -> dict[str, Any]:
    """Decimals as strings, datetimes as ISO 8601: what the JSON column will store."""
    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


def record_event(name: str, entity: models.Model, payload: dict[str, Any]) -> Event:
    """Record one domain event inside the caller's transaction.

    Nothing leaves the database before commit: after commit the sequencer gives the
    event its public id and fans it out to webhook subscriptions.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_event must run inside the transaction of its change")
    event = Event.objects.create(
        name=name,
        occurred_at=timezone.now(),
        entity_type=entity_type_of(entity),
        entity_id=str(entity.pk),
        payload=json_safe(payload),
    )
    _dispatch_after_commit()
    return event


def record_events(events: list[tuple[str, models.Model, dict[str, Any]]]) -> None:
    """`record_event` for many (name, entity, payload) at once: the same outbox rows,
    written in one statement, and one dispatch after commit. For batch work."""
    if not events:
        return
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(
            "record_events must run inside the transaction of its change"
        )
    now = timezone.now()
    insert_rows(
        Event,
        [
            {
                "name": name,
                "occurred_at": now,
                "entity_type": entity_type_of(entity),
                "entity_id": str(entity.pk),
                "payload": json_safe(payload),
            }
            for name, entity, payload in events
        ],
    )
    _dispatch_after_commit()


def _dispatch_after_commit() -> None:
    """One dispatch per transaction, however many events it records: a batch import
    of 500 orders publishes one message, not a thousand. Django drops the callbacks of
    a savepoint that rolls back, so a dispatch still pending in the transaction will
    run whenever this event commits."""
    connection = transaction.get_connection()
    if any(
        callback is _enqueue_dispatch for _, callback, _ in connection.run_on_commit
    ):
        return
    transaction.on_commit(_enqueue_dispatch)


def _enqueue_dispatch() -> None:
    kick(tasks.dispatch_events_task)


def pattern_matches(patterns: Iterable[str], name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def _take_sequencer_lock() -> None:
    # SQLite serialises writers already; PostgreSQL needs one sequencer at a time so
    # public ids follow the order in which events became visible.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEQUENCER_LOCK_ID])


def dispatch_events(*, limit: int = SEQUENCE_BATCH_SIZE) -> int:
    """Give committed events their public id and create one webhook delivery per
    matching active subscription, in one transaction. Returns how many events it
    sequenced; a full batch asks for another run.

    Safe to run any number of times at once: the advisory lock admits one sequencer,
    and an event is sequenced and fanned out exactly once (`sequence` is unique).
    """
    with transaction.atomic():
        _take_sequencer_lock()
        events = list(
            Event.objects.filter(sequence__isnull=True).order_by("id")[:limit]
        )
        if not events:
            return 0
        last = Event.objects.aggregate(last=models.Max("sequence"))["last"] or 0
        now = timezone.now()
        subscriptions = list(WebhookSubscription.objects.filter(active=True))
        deliveries = []
        for offset, event in enumerate(events, start=1):
            event.sequence = last + offset
            event.dispatched_at = now
            deliveries.extend(
                WebhookDelivery(
                    event=event, subscription=subscription, next_attempt_at=now
                )
                for subscription in subscriptions
                if pattern_matches(subscription.event_patterns, event.name)
            )
        Event.objects.bulk_update(events, ["sequence", "dispatched_at"])
        created = WebhookDelivery.objects.bulk_create(deliveries)
        delivery_ids = [delivery.pk for delivery in created]
        for delivery_id in delivery_ids:
            enqueue_on_commit(tasks.deliver_webhook_task, delivery_id)
    if len(events) == limit:
        kick(tasks.dispatch_events_task)
    return len(events)
