"""Giving up an authorization that was never had, because its owner is cancelled:
no retry (by the sweep or by hand) may authorize money afterwards."""

import pytest

from oms.errors import Conflict
from payments import services, tasks
from payments.models import TestProviderOperation

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_backoff(settings):
    settings.OMS_PAYMENT_RETRY_BACKOFF_SECONDS = [0, 0, 0, 0, 0]


def test_cancelling_a_pending_authorization_voids_the_account_and_stops_its_retries(
    open_account, no_backoff, events_of
):
    account = open_account(token="tok_fail_once", amount="55.00")
    [txn] = account.transactions.all()

    cancelled = services.payment_authorization_cancel(
        account=account, reason="Order cancelled."
    )

    assert cancelled is True
    assert account.status == "voided"
    txn.refresh_from_db()
    assert (txn.status, txn.next_retry_at) == ("cancelled", None)
    assert tasks.retry_due_transactions() == 0
    assert services.payment_transaction_attempt(transaction_id=txn.pk) is None
    account.refresh_from_db()
    assert (account.status, account.authorized_amount) == ("voided", 0)
    ledger = TestProviderOperation.objects.get(idempotency_key=txn.idempotency_key)
    assert (ledger.attempts, ledger.outcome) == (1, "pending")
    [event] = events_of(account, "payment_account.authorization_cancelled")
    assert event["amount"] == "55.00"
    assert event["transaction_ids"] == [txn.pk]
    assert event["reason"] == "Order cancelled."


def test_a_failed_authorization_once_cancelled_cannot_be_retried_by_hand(
    open_account, settings, make_user
):
    settings.OMS_PAYMENT_RETRY_BACKOFF_SECONDS = [0]
    account = open_account(token="tok_timeout")
    tasks.retry_due_transactions()
    [txn] = account.transactions.all()
    assert txn.status == "failed"

    services.payment_authorization_cancel(account=account, reason="Order cancelled.")

    with pytest.raises(Conflict) as refused:
        services.payment_transaction_retry(transaction=txn, actor=make_user("csr"))
    assert refused.value.code == "transaction_not_retryable"
    account.refresh_from_db()
    assert (account.status, account.authorized_amount) == ("voided", 0)


def test_an_authorization_already_had_is_left_for_a_void(open_account, events_of):
    account = open_account(token="tok_approve", amount="30.00")

    cancelled = services.payment_authorization_cancel(
        account=account, reason="Order cancelled."
    )

    assert cancelled is False
    account.refresh_from_db()
    assert (account.status, account.authorized_amount) == ("authorized", 30)
    [txn] = account.transactions.all()
    assert txn.status == "succeeded"
    assert events_of(account, "payment_account.authorization_cancelled") == []
