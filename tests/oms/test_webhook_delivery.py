"""Signed delivery, retries with back-off and re-delivery, against a real receiver."""

import threading
from unittest import mock

import pytest
from django.db import connection, transaction

from oms.models import WebhookDelivery, WebhookSubscription
from oms.services.events import dispatch_events, record_event
from oms.services.webhooks import (
    delivery_attempt,
    delivery_redeliver,
    subscription_create,
    subscription_rotate_secret,
)
from tests.oms.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscribed(django_user_model):
    """subscribed(receiver, patterns) → a subscription the receiver can verify."""

    def make(receiver: Receiver, patterns=("*",)):
        subscription = subscription_create(
            name="erp", url=receiver.url, event_patterns=list(patterns)
        )
        receiver.secret = subscription.secret
        return subscription

    return make


def record(user, name="order.created"):
    with transaction.atomic():
        return record_event(name, user, {"number": "OMS-1"})


def only_delivery() -> WebhookDelivery:
    return WebhookDelivery.objects.select_related("event").get()


def test_a_delivery_is_signed_and_verified_by_the_consumer(
    subscribed, django_user_model
):
    user = django_user_model.objects.create(username="u")
    with Receiver() as receiver:
        subscribed(receiver)
        record(user)
        dispatch_events()
        delivery_attempt(delivery_id=only_delivery().pk)

    delivery = only_delivery()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert delivery.attempts == 1 and delivery.last_status_code == 200
    assert receiver.forged == 0
    [hit] = receiver.received
    assert hit["envelope"]["id"] == delivery.event.sequence
    assert hit["envelope"]["name"] == "order.created"
    assert hit["event_name_header"] == "order.created"


def test_a_failing_endpoint_is_retried_by_the_back_off_table_then_fails(
    subscribed, django_user_model, settings
):
    settings.OMS_WEBHOOK_BACKOFF_SECONDS = [0, 0]
    user = django_user_model.objects.create(username="u")
    with Receiver(statuses=[500, 503, 502]) as receiver:
        subscribed(receiver)
        record(user)
        dispatch_events()
        delivery_id = only_delivery().pk
        delivery_attempt(delivery_id=delivery_id)
        assert only_delivery().status == WebhookDelivery.Status.PENDING
        delivery_attempt(delivery_id=delivery_id)
        delivery_attempt(delivery_id=delivery_id)

    delivery = only_delivery()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempts == 3
    assert delivery.last_status_code == 502
    assert "HTTP 502" in delivery.last_error
    assert delivery.next_attempt_at is None


def test_a_retry_waits_for_its_time(subscribed, django_user_model, settings):
    settings.OMS_WEBHOOK_BACKOFF_SECONDS = [3600]
    user = django_user_model.objects.create(username="u")
    with Receiver(statuses=[500]) as receiver:
        subscribed(receiver)
        record(user)
        dispatch_events()
        delivery_attempt(delivery_id=only_delivery().pk)
        assert delivery_attempt(delivery_id=only_delivery().pk) is None
    assert len(receiver.received) == 1


def test_an_unreachable_endpoint_records_the_error(subscribed, django_user_model):
    user = django_user_model.objects.create(username="u")
    with Receiver() as receiver:
        subscribed(receiver)
    # the receiver is closed now: connection refused
    record(user)
    dispatch_events()
    delivery_attempt(delivery_id=only_delivery().pk)
    delivery = only_delivery()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.last_status_code is None
    assert "ConnectionError" in delivery.last_error


def test_a_failed_delivery_can_be_redelivered_by_hand(
    subscribed, django_user_model, settings
):
    settings.OMS_WEBHOOK_BACKOFF_SECONDS = []
    user = django_user_model.objects.create(username="u")
    with Receiver(statuses=[500]) as receiver:
        subscribed(receiver)
        record(user)
        dispatch_events()
        delivery_attempt(delivery_id=only_delivery().pk)
        assert only_delivery().status == WebhookDelivery.Status.FAILED

        delivery_redeliver(delivery=only_delivery())
        delivery_attempt(delivery_id=only_delivery().pk)

    assert only_delivery().status == WebhookDelivery.Status.SUCCEEDED
    assert [r["status"] for r in receiver.received] == [500, 200]


def test_a_pending_delivery_cannot_be_redelivered(subscribed, django_user_model):
    from oms.errors import Conflict

    user = django_user_model.objects.create(username="u")
    with Receiver() as receiver:
        subscribed(receiver)
        record(user)
        dispatch_events()
        with pytest.raises(Conflict):
            delivery_redeliver(delivery=only_delivery())


def test_after_rotation_deliveries_are_signed_with_the_new_secret(
    subscribed, django_user_model
):
    user = django_user_model.objects.create(username="u")
    with Receiver() as receiver:
        subscription = subscribed(receiver)
        old_secret = subscription.secret
        receiver.secret = subscription_rotate_secret(subscription=subscription)
        assert receiver.secret != old_secret
        record(user)
        dispatch_events()
        delivery_attempt(delivery_id=only_delivery().pk)
    assert receiver.forged == 0 and len(receiver.received) == 1


def test_only_matching_active_subscriptions_get_deliveries(
    subscribed, django_user_model
):
    from oms.services.webhooks import subscription_deactivate

    user = django_user_model.objects.create(username="u")
    with Receiver() as receiver:
        returns_only = subscribed(receiver, patterns=["return.*"])
        paused = subscribed(receiver)
        subscription_deactivate(subscription=paused)
        record(user, "order.created")
        record(user, "return.processed")
        dispatch_events()
    assert list(WebhookDelivery.objects.values_list("subscription", "event__name")) == [
        (returns_only.pk, "return.processed")
    ]


@pytest.mark.django_db(transaction=True)
def test_a_delivery_is_sent_while_another_transaction_holds_its_subscription(
    subscribed, django_user_model
):
    """Concurrent attempts of one subscription's deliveries (two worker processes)
    each lock what they claim: a claim must not lock the shared subscription or
    event row, or every other attempt on that subscription skips its delivery."""
    user = django_user_model.objects.create(username="u")
    with Receiver() as receiver:
        subscription = subscribed(receiver)
        # No task runs: the delivery waits, as if its message were on its way.
        with (
            mock.patch("oms.services.events.kick"),
            mock.patch("oms.services.events.enqueue_on_commit"),
        ):
            record(user)
            dispatch_events()
        holding, release = threading.Event(), threading.Event()

        def hold_subscription_row():
            with transaction.atomic():
                WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
                holding.set()
                release.wait(10)
            connection.close()

        other = threading.Thread(target=hold_subscription_row)
        other.start()
        try:
            assert holding.wait(10)
            attempted = delivery_attempt(delivery_id=only_delivery().pk)
        finally:
            release.set()
            other.join()

    assert attempted is not None, "skipped: the claim needed the subscription row too"
    assert only_delivery().status == WebhookDelivery.Status.SUCCEEDED
    assert len(receiver.received) == 1
