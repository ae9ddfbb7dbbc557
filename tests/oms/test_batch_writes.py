"""Kernel helpers for batch work: many events, transitions and saves at once."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django_fsm import TransitionNotAllowed

from oms.bulk import insert_instances, insert_rows, save_fields
from oms.models import Event, StateTransition, WebhookDelivery, WebhookSubscription
from oms.services.events import dispatch_events, record_events
from oms.services.transitions import apply_transitions
from payments.models import PaymentAccount

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_deliveries(django_user_model):
    user = django_user_model.objects.create(username="u")
    subscription = WebhookSubscription.objects.create(
        name="s", url="http://127.0.0.1:9/", secret="whsec_x", event_patterns=["*"]
    )
    with transaction.atomic():
        record_events([("order.created", user, {"n": n}) for n in range(3)])
    dispatch_events()
    deliveries = list(WebhookDelivery.objects.filter(subscription=subscription))
    apply_transitions(deliveries, "give_up")
    save_fields(deliveries, ["status"])
    return deliveries


def test_record_events_writes_every_event_with_one_dispatch(
    django_user_model, django_capture_on_commit_callbacks
):
    user = django_user_model.objects.create(username="u")
    with django_capture_on_commit_callbacks() as callbacks:
        with transaction.atomic():
            record_events([("order.created", user, {"n": n}) for n in range(3)])
    assert len(callbacks) == 1
    assert sorted(Event.objects.values_list("payload__n", flat=True)) == [0, 1, 2]
    assert set(Event.objects.values_list("entity_type", "entity_id")) == {
        ("user", str(user.pk))
    }


def test_batch_transitions_are_logged_and_saved(failed_deliveries):
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"failed"}
    log = StateTransition.objects.filter(transition="give_up")
    assert log.count() == 3
    assert set(log.values_list("source", "target")) == {("pending", "failed")}


def test_a_batch_transition_not_allowed_raises(failed_deliveries):
    with pytest.raises(TransitionNotAllowed):
        apply_transitions(failed_deliveries, "succeed")


def test_save_fields_groups_instances_by_their_new_values(failed_deliveries):
    first, *others = failed_deliveries
    apply_transitions([first], "requeue")
    save_fields(failed_deliveries, ["status"])
    assert WebhookDelivery.objects.get(pk=first.pk).status == "pending"
    assert {d.status for d in WebhookDelivery.objects.exclude(pk=first.pk)} == {
        "failed"
    }


def test_insert_rows_stores_values_exactly_as_the_orm_would():
    # Amounts to the fourth decimal, times to the microsecond, JSON as it was given:
    # what the single JSON parameter carries must be what `save` would have stored.
    occurred = datetime(2026, 12, 3, 9, 0, 0, 123456, tzinfo=UTC)
    payload = {"note": "Größe 42 – ½ price", "lines": [{"sku": "A-1", "qty": 2}]}
    insert_rows(
        Event,
        [
            {
                "name": "order.created",
                "occurred_at": occurred,
                "entity_type": "order",
                "entity_id": "41",
                "payload": payload,
            }
        ],
    )
    account = PaymentAccount(
        owner_type="order", owner_id="41", currency="USD", provider="test",
        payment_token="tok_approve", authorized_amount=Decimal("1234.5678"),
        authorization_expires_at=occurred,
    )  # fmt: skip

    insert_instances([account])

    event = Event.objects.get(entity_id="41")
    assert (event.occurred_at, event.payload) == (occurred, payload)
    stored = PaymentAccount.objects.get(pk=account.pk)
    assert stored.authorized_amount == Decimal("1234.5678")
    assert stored.authorization_expires_at == occurred
    assert stored.created_at == account.created_at  # stamped once, kept exactly
