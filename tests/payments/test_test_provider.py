"""The built-in test gateway: outcomes by token, its own idempotency ledger."""

from decimal import Decimal

import pytest

from payments.models import TestProviderOperation
from payments.providers import ProviderRequest, get_provider

pytestmark = pytest.mark.django_db

OPERATIONS = ["authorize", "capture", "refund", "void"]


def authorization_reference(key: str = "setup", amount: str = "100.00") -> str:
    """An authorization of `amount` with half of it captured, for draws to name
    (the same one again for the same key)."""
    authorization = call("authorize", "tok_approve", f"{key}-authorize", amount)
    call(
        "capture",
        "tok_approve",
        f"{key}-capture",
        str(Decimal(amount) / 2),
        reference=authorization.provider_reference,
    )
    return authorization.provider_reference


def call(
    operation: str,
    token: str,
    key: str,
    amount: str = "10.00",
    reference: str | None = None,
):
    provider = get_provider("test")
    arguments = {
        "amount": Decimal(amount),
        "currency": "USD",
        "payment_token": token,
        "idempotency_key": key,
    }
    if operation != "authorize":
        arguments["provider_reference"] = reference or authorization_reference()
    return getattr(provider, operation)(**arguments)


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("token", ["tok_approve", "any-other-token"])
def test_approve_succeeds_and_a_replay_returns_the_same_reference(operation, token):
    first = call(operation, token, "k1")
    replay = call(operation, token, "k1")

    assert first.success and replay.success
    assert first.provider_reference.startswith(f"test_{operation}_")
    assert replay.provider_reference == first.provider_reference
    assert TestProviderOperation.objects.get(idempotency_key="k1").attempts == 1


def test_decline_refuses_authorizations_for_good():
    first = call("authorize", "tok_decline", "k1")
    again = call("authorize", "tok_decline", "k1")

    assert not first.success and not first.transient
    assert not again.success and not again.transient
    assert first.error == "Card declined."
    assert call("capture", "tok_decline", "k2").success


@pytest.mark.parametrize("operation", OPERATIONS)
def test_fail_once_fails_transiently_once_per_key(operation):
    first = call(operation, "tok_fail_once", "k1")
    second = call(operation, "tok_fail_once", "k1")
    other_key = call(operation, "tok_fail_once", "k2")

    assert (first.success, first.transient) == (False, True)
    assert second.success
    assert (other_key.success, other_key.transient) == (False, True)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_timeout_times_out_twice_per_key_then_succeeds(operation):
    outcomes = [call(operation, "tok_timeout", "k1") for _ in range(3)]

    assert [o.success for o in outcomes] == [False, False, True]
    assert all(o.transient for o in outcomes[:2])
    assert outcomes[0].error == "Gateway timed out."


def test_refund_fail_refuses_refunds_only():
    refund = call("refund", "tok_refund_fail", "k1")

    assert not refund.success and not refund.transient
    assert call("authorize", "tok_refund_fail", "k2").success
    assert call("capture", "tok_refund_fail", "k3").success


def test_a_key_reused_for_another_amount_is_refused():
    call("capture", "tok_approve", "k1", amount="10.00")

    other = call("capture", "tok_approve", "k1", amount="11.00")

    assert not other.success and not other.transient
    assert "Idempotency key" in other.error


@pytest.mark.parametrize("operation", ["capture", "void", "refund"])
def test_a_draw_beyond_what_its_authorization_has_left_is_refused_for_good(
    operation,
):
    reference = authorization_reference()
    authorization_reference("another")  # more money, under another reference

    over = call(operation, "tok_approve", "k1", "50.01", reference=reference)
    exact = call(operation, "tok_approve", "k2", "50.00", reference=reference)

    assert (over.success, over.transient) == (False, False)
    assert over.error == (
        f"Cannot {operation} 50.01: authorization {reference} has 50.00 left for it."
    )
    assert exact.success
    assert not call(operation, "tok_approve", "k3", "0.01", reference=reference).success


def test_a_draw_under_an_unknown_authorization_is_refused_for_good():
    result = call("capture", "tok_approve", "k1", reference="test_authorize_nope")

    assert (result.success, result.transient) == (False, False)
    assert result.error == "No authorization 'test_authorize_nope' to capture."


def test_a_draw_that_succeeded_replays_even_once_its_authorization_is_used_up():
    reference = authorization_reference()
    first = call("capture", "tok_approve", "k1", "50.00", reference=reference)

    replay = call("capture", "tok_approve", "k1", "50.00", reference=reference)

    assert replay.success
    assert replay.provider_reference == first.provider_reference


def test_a_batch_of_authorizations_is_answered_as_one_by_one_and_replays_alike():
    provider = get_provider("test")
    tokens = ["tok_approve", "tok_decline", "tok_fail_once", "tok_timeout"]
    requests = [
        ProviderRequest(
            amount=Decimal("10.00"),
            currency="USD",
            payment_token=token,
            idempotency_key=f"batch-{token}",
        )
        for token in tokens
    ]

    first = provider.authorize_many(requests)
    second = provider.authorize_many(requests)

    assert [(r.success, r.transient) for r in first] == [
        (True, False),
        (False, False),
        (False, True),
        (False, True),
    ]
    assert [(r.success, r.transient) for r in second] == [
        (True, False),
        (False, False),
        (True, False),
        (False, True),
    ]
    assert second[0].provider_reference == first[0].provider_reference
    ledger = dict(
        TestProviderOperation.objects.values_list("payment_token", "attempts")
    )
    assert ledger == {
        "tok_approve": 1,
        "tok_decline": 2,
        "tok_fail_once": 2,
        "tok_timeout": 2,
    }
