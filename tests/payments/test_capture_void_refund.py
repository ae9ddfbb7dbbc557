"""Capture, void and refund: limits, status, events and idempotent replays."""

from decimal import Decimal

import pytest

from oms.errors import ApplicationError, Conflict
from payments import services
from payments.models import TestProviderOperation

pytestmark = pytest.mark.django_db


def test_partial_then_full_capture(open_account, events_of):
    account = open_account(amount="100.00")

    [first] = services.payment_capture(
        account=account,
        amount=Decimal("40.00"),
        idempotency_key="cap-1",
        reference="shipment-1",
    )
    assert (first.status, account.status) == ("succeeded", "partially_captured")
    services.payment_capture(
        account=account,
        amount=Decimal("60.00"),
        idempotency_key="cap-2",
        reference="shipment-2",
    )

    assert account.status == "captured"
    assert account.captured_amount == Decimal("100.00")
    payloads = events_of(account, "payment_account.amount_captured")
    assert payloads[0] == {
        "owner_type": "order",
        "owner_id": account.owner_id,
        "currency": "USD",
        "amount": "40.00",
        "total_captured": "40.00",
        "transaction_id": first.pk,
        "reference": "shipment-1",
        "authorization_id": first.authorization_id,
    }
    assert payloads[1]["total_captured"] == "100.00"


def test_capturing_more_than_is_left_is_a_conflict_and_changes_nothing(open_account):
    account = open_account(amount="100.00")
    services.payment_capture(
        account=account, amount=Decimal("70.00"), idempotency_key="cap-1"
    )

    with pytest.raises(Conflict) as conflict:
        services.payment_capture(
            account=account, amount=Decimal("30.01"), idempotency_key="cap-2"
        )

    assert conflict.value.code == "amount_exceeds_capturable"
    assert "only 30.00 USD" in conflict.value.message
    account.refresh_from_db()
    assert account.captured_amount == Decimal("70.00")
    assert account.transactions.filter(kind="capture").count() == 1


def test_replaying_a_capture_key_never_captures_twice(open_account, events_of):
    account = open_account(amount="100.00")
    [first] = services.payment_capture(
        account=account, amount=Decimal("100.00"), idempotency_key="cap-1"
    )

    [replay] = services.payment_capture(
        account=account, amount=Decimal("100.00"), idempotency_key="cap-1"
    )

    assert replay.pk == first.pk
    assert account.captured_amount == Decimal("100.00")
    assert len(events_of(account, "payment_account.amount_captured")) == 1
    assert TestProviderOperation.objects.get(idempotency_key="cap-1").attempts == 1


def test_a_key_used_for_something_else_is_a_conflict(open_account):
    account = open_account(amount="100.00")
    services.payment_capture(
        account=account, amount=Decimal("10.00"), idempotency_key="key-1"
    )

    with pytest.raises(Conflict) as conflict:
        services.payment_capture(
            account=account, amount=Decimal("20.00"), idempotency_key="key-1"
        )
    with pytest.raises(Conflict):
        services.payment_void(
            account=account, amount=Decimal("10.00"), idempotency_key="key-1"
        )

    assert conflict.value.code == "idempotency_key_reused"


@pytest.mark.parametrize("token", ["tok_fail_once", "tok_timeout"])
def test_nothing_can_be_captured_before_the_authorization_succeeded(
    open_account, token
):
    account = open_account(token=token)

    with pytest.raises(Conflict) as conflict:
        services.payment_capture(
            account=account, amount=Decimal("1.00"), idempotency_key="cap-1"
        )

    assert conflict.value.code == "authorization_not_ready"


def test_amounts_must_be_positive_and_quantized(open_account):
    account = open_account(amount="100.00")

    for amount in (Decimal("0"), Decimal("-1.00"), Decimal("1.005")):
        with pytest.raises(ApplicationError) as refused:
            services.payment_capture(
                account=account, amount=amount, idempotency_key=f"cap-{amount}"
            )
        assert refused.value.code == "invalid_amount"
    with pytest.raises(ApplicationError):
        services.payment_capture(
            account=account, amount=Decimal("1.00"), idempotency_key=""
        )
    with pytest.raises(ApplicationError) as too_long:
        services.payment_capture(
            account=account,
            amount=Decimal("1.00"),
            idempotency_key="cap-1",
            reference="r" * 101,
        )
    assert too_long.value.field_errors == {"reference": ["At most 100 characters."]}
    assert not account.transactions.filter(kind="capture").exists()


def test_voiding_everything_before_capture_voids_the_account(open_account, events_of):
    account = open_account(amount="100.00")

    services.payment_void(
        account=account,
        amount=Decimal("30.00"),
        idempotency_key="void-1",
        reason="line 2 cancelled",
    )
    assert account.status == "authorized"
    services.payment_void(
        account=account,
        amount=Decimal("70.00"),
        idempotency_key="void-2",
        reason="order cancelled",
    )

    assert account.status == "voided"
    assert account.voided_amount == Decimal("100.00")
    assert events_of(account, "payment_account.amount_voided")[-1]["total_voided"] == (
        "100.00"
    )
    with pytest.raises(Conflict):
        services.payment_capture(
            account=account, amount=Decimal("1.00"), idempotency_key="cap-1"
        )


def test_voiding_the_rest_after_a_partial_capture_completes_the_capture(open_account):
    account = open_account(amount="100.00")
    services.payment_capture(
        account=account, amount=Decimal("60.00"), idempotency_key="cap-1"
    )

    services.payment_void(
        account=account, amount=Decimal("40.00"), idempotency_key="void-1"
    )

    assert account.status == "captured"
    with pytest.raises(Conflict) as conflict:
        services.payment_void(
            account=account, amount=Decimal("0.01"), idempotency_key="void-2"
        )
    assert conflict.value.code == "amount_exceeds_capturable"


def test_refunds_up_to_the_captured_amount(open_account, events_of):
    account = open_account(amount="100.00")
    services.payment_capture(
        account=account, amount=Decimal("80.00"), idempotency_key="cap-1"
    )

    [refund] = services.payment_refund(
        account=account,
        amount=Decimal("30.00"),
        idempotency_key="ref-1",
        reference="return-9",
    )
    services.payment_refund(
        account=account, amount=Decimal("50.00"), idempotency_key="ref-2"
    )

    assert refund.status == "succeeded"
    assert account.refunded_amount == Decimal("80.00")
    assert account.status == "partially_captured"
    assert events_of(account, "payment_account.amount_refunded")[0] == {
        "owner_type": "order",
        "owner_id": account.owner_id,
        "currency": "USD",
        "amount": "30.00",
        "total_refunded": "30.00",
        "transaction_id": refund.pk,
        "reference": "return-9",
        "authorization_id": refund.authorization_id,
    }
    with pytest.raises(Conflict) as conflict:
        services.payment_refund(
            account=account, amount=Decimal("0.01"), idempotency_key="ref-3"
        )
    assert conflict.value.code == "amount_exceeds_refundable"


def test_nothing_can_be_refunded_before_a_capture(open_account):
    account = open_account(amount="100.00")

    with pytest.raises(Conflict) as conflict:
        services.payment_refund(
            account=account, amount=Decimal("1.00"), idempotency_key="ref-1"
        )

    assert "only 0.00 USD" in conflict.value.message


def test_a_pending_refund_counts_against_what_can_be_refunded(open_account):
    account = open_account(amount="100.00")
    services.payment_capture(
        account=account, amount=Decimal("100.00"), idempotency_key="cap-1"
    )
    [pending] = services.payment_refund(
        account=account,
        amount=Decimal("70.00"),
        idempotency_key="ref-1",
        asynchronous=True,
    )
    assert pending.status == "pending"

    with pytest.raises(Conflict) as conflict:
        services.payment_refund(
            account=account, amount=Decimal("30.01"), idempotency_key="ref-2"
        )

    assert "only 30.00 USD" in conflict.value.message
    services.payment_refund(
        account=account, amount=Decimal("30.00"), idempotency_key="ref-2"
    )


def test_a_pending_capture_counts_against_what_can_be_voided(open_account):
    account = open_account(amount="100.00")
    account.payment_token = "tok_timeout"
    account.save(update_fields=["payment_token"])
    [pending] = services.payment_capture(
        account=account, amount=Decimal("60.00"), idempotency_key="cap-1"
    )
    assert pending.status == "pending"

    with pytest.raises(Conflict):
        services.payment_void(
            account=account, amount=Decimal("40.01"), idempotency_key="void-1"
        )


def test_a_refund_refused_by_the_provider_is_failed_and_visible(
    open_account, events_of
):
    account = open_account(token="tok_refund_fail", amount="100.00")
    services.payment_capture(
        account=account, amount=Decimal("100.00"), idempotency_key="cap-1"
    )

    [refund] = services.payment_refund(
        account=account, amount=Decimal("25.00"), idempotency_key="ref-1"
    )

    assert (refund.status, refund.attempts) == ("failed", 1)
    assert "refused" in refund.error
    assert account.refunded_amount == 0
    [failure] = events_of(account, "payment_account.refund_failed")
    assert failure["error"] == refund.error
    assert failure["amount"] == "25.00"
    # A failed refund no longer holds the amount: another refund may take it.
    [another] = services.payment_refund(
        account=account, amount=Decimal("100.00"), idempotency_key="ref-2"
    )
    assert another.status == "failed"


def test_jpy_capture_and_refund_stay_whole_yen(open_account, events_of):
    account = open_account(currency="JPY", amount="12000")
    services.payment_capture(
        account=account, amount=Decimal("12000"), idempotency_key="cap-1"
    )
    services.payment_refund(
        account=account, amount=Decimal("3500"), idempotency_key="ref-1"
    )

    assert events_of(account, "payment_account.amount_refunded")[0]["amount"] == "3500"
    with pytest.raises(ApplicationError):
        services.payment_refund(
            account=account, amount=Decimal("0.5"), idempotency_key="ref-2"
        )
