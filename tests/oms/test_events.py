import pytest
from django.db import transaction

from oms.models import Event, WebhookDelivery
from oms.queueing import kick_taken
from oms.services.events import dispatch_events, record_event
from oms.services.webhooks import subscription_create
from oms.tasks import dispatch_events_task

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)
def test_record_event_outside_a_transaction_is_refused(django_user_model):
    user = django_user_model.objects.create(username="u")
    with pytest.raises(RuntimeError):
        record_event("user.created", user, {})


def test_events_get_public_ids_in_order_only_when_dispatched(django_user_model):
    user = django_user_model.objects.create(username="u")
    with transaction.atomic():
        first = record_event("user.created", user, {"n": 1})
        second = record_event("user.updated", user, {"n": 2})
    assert Event.objects.get(pk=first.pk).sequence is None

    assert dispatch_events() == 2

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.sequence, second.sequence) == (1, 2)
    assert first.entity_type == "user"
    assert first.envelope()["id"] == 1


def test_dispatch_creates_one_delivery_per_matching_subscription_once(
    django_user_model,
):
    user = django_user_model.objects.create(username="u")
    orders = subscription_create(
        name="orders", url="http://127.0.0.1:9/o", event_patterns=["order.*"]
    )
    everything = subscription_create(
        name="all", url="http://127.0.0.1:9/a", event_patterns=["*"]
    )
    with transaction.atomic():
        record_event("order.created", user, {})
        record_event("return.processed", user, {})

    dispatch_events()
    dispatch_events()

    assert WebhookDelivery.objects.filter(subscription=orders).count() == 1
    assert WebhookDelivery.objects.filter(subscription=everything).count() == 2


def test_payload_decimals_and_dates_are_stored_as_json_strings(django_user_model):
    from datetime import date
    from decimal import Decimal

    user = django_user_model.objects.create(username="u")
    with transaction.atomic():
        event = record_event(
            "x.happened", user, {"amount": Decimal("1.10"), "on": date(2026, 1, 2)}
        )
    event.refresh_from_db()
    assert event.payload == {"amount": "1.10", "on": "2026-01-02"}


def dispatch_callbacks(captured) -> int:
    from oms.services.events import _enqueue_dispatch

    return sum(1 for callback in captured if callback is _enqueue_dispatch)


def test_one_dispatch_per_transaction_however_many_events(
    django_user_model, django_capture_on_commit_callbacks
):
    user = django_user_model.objects.create(username="u")
    with django_capture_on_commit_callbacks() as captured:
        with transaction.atomic():
            for n in range(50):
                record_event("order.created", user, {"n": n})
            with transaction.atomic():
                record_event("order.opened", user, {})
    assert dispatch_callbacks(captured) == 1


def test_a_rolled_back_savepoint_does_not_take_the_dispatch_with_it(
    django_user_model, django_capture_on_commit_callbacks
):
    user = django_user_model.objects.create(username="u")
    with django_capture_on_commit_callbacks() as captured:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record_event("order.created", user, {})
                    raise ValueError("this order fails")
            except ValueError:
                pass
            record_event("order.created", user, {"n": 2})
    assert dispatch_callbacks(captured) == 1
    assert Event.objects.filter(payload={"n": 2}).exists()


def test_events_in_released_savepoints_share_one_dispatch(
    django_user_model, django_capture_on_commit_callbacks
):
    user = django_user_model.objects.create(username="u")
    with django_capture_on_commit_callbacks() as captured:
        with transaction.atomic():
            for n in range(3):  # e.g. one savepoint per imported order
                with transaction.atomic():
                    with transaction.atomic(savepoint=False):
                        record_event("order.created", user, {"n": n})
            record_event("order.imported", user, {})
    assert dispatch_callbacks(captured) == 1


@pytest.fixture
def published(monkeypatch):
    """The dispatcher's wake-ups as the broker took them (no worker takes them)."""
    from oms import queueing

    names: list[str] = []

    def publish(task, *args, **kwargs) -> bool:
        names.append(task.name)
        return True

    monkeypatch.setattr(queueing, "enqueue", publish)
    kick_taken(dispatch_events_task)
    yield names
    kick_taken(dispatch_events_task)


def commit_an_event(user) -> None:
    with transaction.atomic():
        record_event("order.created", user, {})


@pytest.mark.django_db(transaction=True)
def test_commits_while_a_wake_up_waits_share_it(django_user_model, published):
    user = django_user_model.objects.create(username="u")
    for _ in range(5):
        commit_an_event(user)
    assert published == ["oms.dispatch_events"]


@pytest.mark.django_db(transaction=True)
def test_a_dispatcher_that_started_is_woken_again_by_the_next_commit(
    django_user_model, published
):
    user = django_user_model.objects.create(username="u")
    commit_an_event(user)
    kick_taken(dispatch_events_task)  # what the task does first thing
    commit_an_event(user)
    assert published == ["oms.dispatch_events", "oms.dispatch_events"]


@pytest.mark.django_db(transaction=True)
def test_with_its_flags_unreachable_every_commit_wakes_the_dispatcher(
    django_user_model, published, monkeypatch
):
    import redis

    from oms import queueing

    nothing_listens = redis.Redis(port=1, socket_connect_timeout=1)
    monkeypatch.setattr(queueing, "_flag_store", lambda: nothing_listens)
    user = django_user_model.objects.create(username="u")
    for _ in range(2):
        commit_an_event(user)
    assert published == ["oms.dispatch_events", "oms.dispatch_events"]


@pytest.mark.django_db(transaction=True)
def test_the_dispatch_task_clears_its_wake_up_before_it_reads(
    django_user_model, published
):
    user = django_user_model.objects.create(username="u")
    commit_an_event(user)
    assert dispatch_events_task() == 1
    commit_an_event(user)
    assert len(published) == 2
    assert dispatch_events_task() == 1


@pytest.mark.django_db(transaction=True)
def test_a_wake_up_the_broker_refused_does_not_stop_the_next_commit_from_trying(
    django_user_model, monkeypatch
):
    from oms import queueing

    attempts: list[str] = []

    def broker_down(task, *args, **kwargs) -> bool:
        attempts.append(task.name)
        return False

    monkeypatch.setattr(queueing, "enqueue", broker_down)
    user = django_user_model.objects.create(username="u")
    for _ in range(2):
        commit_an_event(user)
    assert attempts == ["oms.dispatch_events", "oms.dispatch_events"]
