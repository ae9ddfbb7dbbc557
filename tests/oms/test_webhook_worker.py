"""Webhook delivery through real Celery workers on Redis (services mode)."""

import pytest
from django.db import transaction

from oms.models import Event, WebhookDelivery
from oms.services.events import record_event
from oms.services.webhooks import subscription_create
from oms.tasks import sweep_outbox
from tests.integration_support import (
    WorkerProcess,
    needs_services,
    purge_queue,
    wait_until,
    worker_thread,
)
from tests.oms.webhook_receiver import Receiver

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    needs_services,
]


def subscribe(receiver: Receiver):
    subscription = subscription_create(
        name="erp", url=receiver.url, event_patterns=["*"]
    )
    receiver.secret = subscription.secret
    return subscription


def test_an_endpoint_answering_500_twice_gets_the_event_on_the_third_try(
    django_user_model, settings
):
    settings.OMS_WEBHOOK_BACKOFF_SECONDS = [1, 1, 1]
    purge_queue()
    user = django_user_model.objects.create(username="u")
    with Receiver(statuses=[500, 500]) as receiver, worker_thread():
        subscribe(receiver)
        with transaction.atomic():
            record_event("order.created", user, {"number": "OMS-1"})

        def delivered():
            sweep_outbox.delay()  # what beat does every 15 s
            return WebhookDelivery.objects.filter(status="succeeded").exists()

        wait_until(
            delivered, timeout=30, interval=1, message="delivery never succeeded"
        )

    delivery = WebhookDelivery.objects.get()
    assert [r["status"] for r in receiver.received] == [500, 500, 200]
    assert delivery.attempts == 3
    assert receiver.forged == 0


def test_events_recorded_while_the_worker_is_down_all_arrive_without_gaps(
    django_user_model,
):
    purge_queue()
    user = django_user_model.objects.create(username="u")
    with Receiver() as receiver:
        subscribe(receiver)
        for n in range(100):
            with transaction.atomic():
                record_event("order.created", user, {"n": n})
        assert receiver.received == [], "delivered with no worker running"
        assert not Event.objects.filter(sequence__isnull=False).exists(), (
            "sequenced early"
        )

        worker = WorkerProcess(OMS_WEBHOOK_CLAIM_SECONDS="2").start()
        try:
            wait_until(
                lambda: len(receiver.delivered_ids()) >= 30,
                timeout=120,
                message="the worker delivered fewer than 30 events",
            )
            worker.kill()  # crash mid-delivery: SIGKILL, no clean shutdown
            worker = WorkerProcess(OMS_WEBHOOK_CLAIM_SECONDS="2").start()

            def all_delivered():
                # A delivery the killed worker sent but never marked is sent
                # again once its claim lapses: wait for it to be marked too.
                sweep_outbox.delay()
                succeeded = WebhookDelivery.objects.filter(status="succeeded")
                return len(receiver.delivered_ids()) == 100 and succeeded.count() == 100

            wait_until(
                all_delivered,
                timeout=180,
                interval=1,
                message=lambda: f"{len(receiver.delivered_ids())} of 100 delivered",
            )
        finally:
            worker.stop()

    ids = receiver.delivered_ids()
    assert ids == set(range(min(ids), min(ids) + 100))  # each id, no gaps
    assert receiver.forged == 0
    assert WebhookDelivery.objects.filter(status="succeeded").count() == 100
