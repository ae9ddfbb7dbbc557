"""Opening an account (the initial authorization), additional authorizations and
reauthorization, with each test-provider mode."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from oms.errors import ApplicationError, Conflict
from payments import selectors, services
from payments.errors import PaymentDeclined
from payments.models import PaymentAccount, PaymentTransaction, TestProviderOperation

pytestmark = pytest.mark.django_db


def test_open_authorizes_the_amount_with_the_channel_provider(open_account, events_of):
    account = open_account(token="tok_approve", amount="120.50")

    assert account.status == "authorized"
    assert account.provider == "test"
    assert account.authorized_amount == Decimal("120.50")
    assert account.authorization_expires_at > timezone.now() + timedelta(days=6)
    [txn] = account.transactions.all()
    assert (txn.kind, txn.status, txn.attempts) == ("authorize", "succeeded", 1)
    assert txn.idempotency_key == f"order:{account.owner_id}:authorize:initial"
    assert txn.provider_reference.startswith("test_authorize_")
    [event] = events_of(account, "payment_account.amount_authorized")
    assert event["amount"] == "120.50"
    assert event["total_authorized"] == "120.50"


def test_authorization_expiry_is_configured_per_provider(open_account, settings):
    settings.OMS_AUTHORIZATION_TTL_DAYS = {"test": 2}

    account = open_account()

    expires_in = account.authorization_expires_at - timezone.now()
    assert timedelta(days=1, hours=23) < expires_in <= timedelta(days=2)


def test_channel_chooses_the_provider_and_an_unknown_one_is_refused(settings):
    settings.OMS_CHANNEL_PAYMENT_PROVIDER = {"web": "adyen"}

    with pytest.raises(ApplicationError) as refused:
        services.payment_account_open(
            owner_type="order",
            owner_id="1",
            currency="USD",
            amount=Decimal("1.00"),
            payment_token="tok_approve",
            channel="web",
        )

    assert refused.value.code == "unknown_payment_provider"
    assert not PaymentAccount.objects.exists()


def test_a_declined_authorization_raises_and_leaves_nothing(open_account):
    # The caller's transaction (order intake) rolls back with the refusal.
    with pytest.raises(PaymentDeclined) as declined, transaction.atomic():
        open_account(token="tok_decline", owner_id="O-declined")

    assert declined.value.code == "payment_declined"
    assert "declined" in declined.value.message.lower()
    assert not PaymentAccount.objects.filter(owner_id="O-declined").exists()
    assert not PaymentTransaction.objects.exists()


def test_a_transient_failure_keeps_the_account_pending_for_a_retry(open_account):
    account = open_account(token="tok_fail_once")

    assert account.status == "pending_authorization"
    assert account.authorized_amount == 0
    [txn] = account.transactions.all()
    assert txn.status == "pending"
    assert txn.attempts == 1
    assert "unavailable" in txn.error
    assert txn.next_retry_at > timezone.now()


def test_opening_again_returns_the_same_account_without_a_second_authorization(
    open_account,
):
    first = open_account(owner_id="O-7", amount="80.00")

    again = open_account(owner_id="O-7", amount="80.00")

    assert again.pk == first.pk
    assert again.transactions.count() == 1
    assert TestProviderOperation.objects.get().attempts == 1


def test_opening_again_with_another_amount_is_a_conflict(open_account):
    open_account(owner_id="O-8", amount="80.00")

    with pytest.raises(Conflict) as conflict, transaction.atomic():
        open_account(owner_id="O-8", amount="90.00")

    assert conflict.value.code == "idempotency_key_reused"
    assert PaymentAccount.objects.get(owner_id="O-8").authorized_amount == 80


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("currency", {"currency": "XXX"}),
        ("amount", {"amount": Decimal("0")}),
        ("amount", {"amount": Decimal("-1.00")}),
        ("amount", {"amount": Decimal("1.001")}),
        ("payment_token", {"payment_token": " "}),
        ("owner_id", {"owner_id": ""}),
        ("owner_type", {"owner_type": "o" * 41}),
        ("payment_token", {"payment_token": "t" * 201}),
        ("channel", {"channel": "c" * 61}),
    ],
)
def test_bad_input_is_refused_with_field_errors_and_writes_nothing(field, kwargs):
    arguments = {
        "owner_type": "order",
        "owner_id": "O-bad",
        "currency": "USD",
        "amount": Decimal("10.00"),
        "payment_token": "tok_approve",
        "channel": "web",
        **kwargs,
    }

    with pytest.raises(ApplicationError) as refused:
        services.payment_account_open(**arguments)

    assert refused.value.status_code == 400
    assert field in refused.value.field_errors
    assert not PaymentAccount.objects.exists()


def test_jpy_amounts_have_no_decimals(open_account):
    account = open_account(currency="JPY", amount="15000")

    assert account.authorized_amount == Decimal("15000")
    with pytest.raises(ApplicationError):
        open_account(currency="JPY", amount="15000.50")


def test_an_additional_authorization_raises_the_authorized_amount(
    open_account, events_of
):
    account = open_account(amount="100.00")

    txn = services.payment_authorize(
        account=account, amount=Decimal("15.00"), idempotency_key="swap-1"
    )

    assert txn.status == "succeeded"
    assert account.authorized_amount == Decimal("115.00")
    assert account.status == "authorized"
    assert (
        events_of(account, "payment_account.amount_authorized")[-1]["total_authorized"]
        == "115.00"
    )


def test_a_declined_additional_authorization_changes_nothing(open_account):
    account = open_account(token="tok_decline_later", amount="100.00")
    PaymentAccount.objects.filter(pk=account.pk).update(payment_token="tok_decline")
    account.refresh_from_db()

    with pytest.raises(PaymentDeclined):
        services.payment_authorize(
            account=account, amount=Decimal("15.00"), idempotency_key="swap-1"
        )

    account.refresh_from_db()
    assert account.authorized_amount == Decimal("100.00")
    assert account.transactions.count() == 1


def test_an_additional_authorization_reopens_a_fully_captured_account(open_account):
    account = open_account(amount="100.00")
    services.payment_capture(
        account=account, amount=Decimal("100.00"), idempotency_key="cap-1"
    )
    assert account.status == "captured"

    services.payment_authorize(
        account=account, amount=Decimal("20.00"), idempotency_key="swap-1"
    )

    assert account.status == "partially_captured"
    services.payment_capture(
        account=account, amount=Decimal("20.00"), idempotency_key="cap-2"
    )
    assert account.status == "captured"


def test_an_additional_authorization_needs_an_authorized_account(open_account):
    account = open_account(token="tok_fail_once")

    with pytest.raises(Conflict) as conflict:
        services.payment_authorize(
            account=account, amount=Decimal("5.00"), idempotency_key="swap-1"
        )

    assert conflict.value.code == "authorization_not_ready"


def test_expiring_selector_lists_uncaptured_authorizations_nearing_expiry(
    open_account, settings
):
    settings.OMS_AUTHORIZATION_TTL_DAYS = {"test": 1}
    soon = open_account(amount="50.00")
    fully_captured = open_account(amount="50.00")
    services.payment_capture(
        account=fully_captured, amount=Decimal("50.00"), idempotency_key="cap-1"
    )
    settings.OMS_AUTHORIZATION_TTL_DAYS = {"test": 7}
    later = open_account(amount="50.00")

    expiring = list(selectors.payment_accounts_expiring(within=timedelta(days=2)))

    assert expiring == [soon]
    assert later not in expiring


def test_reauthorize_renews_the_uncaptured_amount_and_the_expiry(
    open_account, settings, events_of
):
    settings.OMS_AUTHORIZATION_TTL_DAYS = {"test": 1}
    account = open_account(amount="100.00")
    services.payment_capture(
        account=account, amount=Decimal("30.00"), idempotency_key="cap-1"
    )
    settings.OMS_AUTHORIZATION_TTL_DAYS = {"test": 7}

    txn = services.payment_reauthorize(account=account, idempotency_key="reauth-1")

    assert (txn.kind, txn.amount, txn.status) == (
        "authorize",
        Decimal("70"),
        "succeeded",
    )
    assert account.uncaptured_amount == Decimal("70.00")
    assert account.authorization_expires_at > timezone.now() + timedelta(days=6)
    assert account.captured_amount + account.voided_amount <= account.authorized_amount
    assert not selectors.payment_accounts_expiring(within=timedelta(days=2)).exists()
    assert (
        events_of(account, "payment_account.amount_authorized")[-1]["renews_amount"]
        == "70.00"
    )
    services.payment_capture(
        account=account, amount=Decimal("70.00"), idempotency_key="cap-2"
    )
    assert account.status == "captured"


def test_reauthorize_again_with_the_same_key_does_not_authorize_twice(open_account):
    account = open_account(amount="100.00")
    first = services.payment_reauthorize(account=account, idempotency_key="reauth-1")

    again = services.payment_reauthorize(account=account, idempotency_key="reauth-1")

    assert again.pk == first.pk
    account.refresh_from_db()
    assert account.authorized_amount == Decimal("200.00")
    assert account.uncaptured_amount == Decimal("100.00")


def test_a_declined_reauthorization_raises_and_changes_nothing(open_account):
    account = open_account(amount="100.00")
    expires_at = account.authorization_expires_at
    PaymentAccount.objects.filter(pk=account.pk).update(payment_token="tok_decline")
    account.refresh_from_db()

    with pytest.raises(PaymentDeclined):
        services.payment_reauthorize(account=account, idempotency_key="reauth-1")

    account.refresh_from_db()
    assert account.authorization_expires_at == expires_at
    assert account.authorized_amount == Decimal("100.00")


def test_nothing_to_reauthorize_on_a_voided_account(open_account):
    account = open_account(amount="100.00")
    services.payment_void(
        account=account, amount=Decimal("100.00"), idempotency_key="v"
    )

    with pytest.raises(Conflict) as conflict:
        services.payment_reauthorize(account=account, idempotency_key="reauth-1")

    assert conflict.value.code == "nothing_to_reauthorize"
