"""Transient failures retried by Celery with the same idempotency key; permanent
ones end `failed` and are retried by hand."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from oms.errors import Conflict
from payments import services, tasks
from payments.errors import PaymentDeclined
from payments.models import TestProviderOperation

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_backoff(settings):
    """Every retry is due at once, so the sweep's attempts can be watched in turn."""
    settings.OMS_PAYMENT_RETRY_BACKOFF_SECONDS = [0, 0, 0, 0, 0]


def test_backoff_grows_with_each_transient_failure(open_account, settings):
    settings.OMS_PAYMENT_RETRY_BACKOFF_SECONDS = [10, 60]
    account = open_account(token="tok_timeout")
    [txn] = account.transactions.all()
    started = timezone.now()
    assert started < txn.next_retry_at <= started + timedelta(seconds=10)

    services.payment_transaction_attempt(transaction_id=txn.pk, now=txn.next_retry_at)

    txn.refresh_from_db()
    assert (txn.status, txn.attempts) == ("pending", 2)
    assert txn.next_retry_at > started + timedelta(seconds=50)


def test_an_attempt_that_is_not_due_does_nothing(open_account):
    account = open_account(token="tok_fail_once")
    [txn] = account.transactions.all()

    assert tasks.retry_due_transactions() == 0
    services.payment_transaction_attempt(transaction_id=txn.pk)

    txn.refresh_from_db()
    assert (txn.status, txn.attempts) == ("pending", 1)
    assert services.payment_transactions_due(now=txn.next_retry_at) == [txn.pk]


def test_fail_once_authorization_succeeds_when_the_sweep_retries_it(
    open_account, no_backoff, events_of
):
    account = open_account(token="tok_fail_once", amount="55.00")

    assert tasks.retry_due_transactions() == 1

    account.refresh_from_db()
    assert account.status == "authorized"
    assert account.authorized_amount == Decimal("55.00")
    assert account.authorization_expires_at is not None
    [txn] = account.transactions.all()
    assert (txn.status, txn.attempts, txn.error) == ("succeeded", 2, "")
    assert (
        TestProviderOperation.objects.get(idempotency_key=txn.idempotency_key).attempts
        == 2
    )
    assert len(events_of(account, "payment_account.amount_authorized")) == 1


def test_timeout_succeeds_on_the_third_attempt_with_the_same_key(
    open_account, no_backoff
):
    account = open_account(token="tok_timeout")
    [txn] = account.transactions.all()
    key = txn.idempotency_key

    tasks.retry_due_transactions()
    txn.refresh_from_db()
    assert (txn.status, txn.attempts, txn.error) == ("pending", 2, "Gateway timed out.")
    tasks.retry_due_transactions()

    txn.refresh_from_db()
    assert (txn.status, txn.attempts, txn.idempotency_key) == ("succeeded", 3, key)
    account.refresh_from_db()
    assert account.status == "authorized"


def test_a_transient_capture_is_retried_by_the_task(open_account, no_backoff):
    account = open_account(token="tok_fail_once", amount="40.00")
    tasks.retry_due_transactions()  # the authorization
    account.refresh_from_db()

    [capture] = services.payment_capture(
        account=account, amount=Decimal("40.00"), idempotency_key="cap-1"
    )
    assert capture.status == "pending"
    assert account.captured_amount == 0
    tasks.attempt_transaction(capture.pk)

    capture.refresh_from_db()
    account.refresh_from_db()
    assert capture.status == "succeeded"
    assert (account.status, account.captured_amount) == ("captured", Decimal("40.00"))


def test_async_refund_with_fail_once_succeeds_on_retry(
    open_account, no_backoff, django_capture_on_commit_callbacks, events_of
):
    account = open_account(token="tok_fail_once", amount="90.00")
    tasks.retry_due_transactions()
    account.refresh_from_db()
    [capture] = services.payment_capture(
        account=account, amount=Decimal("90.00"), idempotency_key="cap-1"
    )
    tasks.attempt_transaction(capture.pk)

    with django_capture_on_commit_callbacks(execute=True):
        [refund] = services.payment_refund(
            account=account,
            amount=Decimal("20.00"),
            idempotency_key="ref-1",
            reference="return-3",
            asynchronous=True,
        )
    assert refund.attempts == 0  # the provider is called by the task, not the caller

    refund.refresh_from_db()
    assert (refund.status, refund.attempts) == ("pending", 1)  # the task's first try
    assert tasks.retry_due_transactions() == 1

    refund.refresh_from_db()
    account.refresh_from_db()
    assert (refund.status, refund.attempts) == ("succeeded", 2)
    assert account.refunded_amount == Decimal("20.00")
    [event] = events_of(account, "payment_account.amount_refunded")
    assert (event["reference"], event["total_refunded"]) == ("return-3", "20.00")


def test_transient_failures_end_failed_after_the_last_attempt(
    open_account, settings, events_of
):
    settings.OMS_PAYMENT_RETRY_BACKOFF_SECONDS = [0]  # two attempts in all
    account = open_account(token="tok_timeout")

    tasks.retry_due_transactions()

    account.refresh_from_db()
    [txn] = account.transactions.all()
    assert (txn.status, txn.attempts) == ("failed", 2)
    assert account.status == "authorization_failed"
    [failure] = events_of(account, "payment_account.authorization_failed")
    assert failure["attempts"] == 2
    assert tasks.retry_due_transactions() == 0


def test_retry_by_hand_of_a_failed_authorization_authorizes_the_account(
    open_account, settings, make_user
):
    settings.OMS_PAYMENT_RETRY_BACKOFF_SECONDS = [0]
    account = open_account(token="tok_timeout")
    tasks.retry_due_transactions()
    [txn] = account.transactions.all()

    retried = services.payment_transaction_retry(
        transaction=txn, actor=make_user("csr")
    )

    assert (retried.status, retried.attempts) == ("succeeded", 3)
    account.refresh_from_db()
    assert account.status == "authorized"


def test_retry_by_hand_of_a_refused_refund_fails_again_visibly(open_account, events_of):
    account = open_account(token="tok_refund_fail")
    services.payment_capture(
        account=account, amount=Decimal("100.00"), idempotency_key="cap-1"
    )
    [refund] = services.payment_refund(
        account=account, amount=Decimal("10.00"), idempotency_key="ref-1"
    )

    retried = services.payment_transaction_retry(transaction=refund)

    assert (retried.status, retried.attempts) == ("failed", 2)
    assert len(events_of(account, "payment_account.refund_failed")) == 2
    account.refresh_from_db()
    assert account.refunded_amount == 0


@pytest.mark.parametrize("token", ["tok_approve", "tok_fail_once"])
def test_only_a_failed_transaction_can_be_retried_by_hand(open_account, token):
    account = open_account(token=token)
    [txn] = account.transactions.all()

    with pytest.raises(Conflict) as conflict:
        services.payment_transaction_retry(transaction=txn)

    assert conflict.value.code == "transaction_not_retryable"


def test_retry_by_hand_refuses_a_refund_that_no_longer_fits(open_account, settings):
    settings.OMS_PAYMENT_RETRY_BACKOFF_SECONDS = []  # a transient failure is final
    account = open_account(token="tok_approve")
    services.payment_capture(
        account=account, amount=Decimal("100.00"), idempotency_key="cap-1"
    )
    account.payment_token = "tok_fail_once"
    account.save(update_fields=["payment_token"])
    [failed] = services.payment_refund(
        account=account, amount=Decimal("60.00"), idempotency_key="ref-1"
    )
    assert failed.status == "failed"
    account.payment_token = "tok_approve"
    account.save(update_fields=["payment_token"])
    services.payment_refund(
        account=account, amount=Decimal("50.00"), idempotency_key="ref-2"
    )

    with pytest.raises(Conflict) as conflict:
        services.payment_transaction_retry(transaction=failed)

    assert conflict.value.code == "amount_exceeds_refundable"
    failed.refresh_from_db()
    assert failed.status == "failed"


def test_a_reauthorization_that_failed_after_its_retries_is_a_decline_when_asked_again(
    open_account, settings
):
    settings.OMS_PAYMENT_RETRY_BACKOFF_SECONDS = [0]
    account = open_account(amount="100.00")
    account.payment_token = "tok_timeout"  # the issuer's gateway stops answering
    account.save(update_fields=["payment_token"])
    pending = services.payment_reauthorize(account=account, idempotency_key="reauth-1")
    assert pending.status == "pending"
    tasks.retry_due_transactions()

    with pytest.raises(PaymentDeclined):
        services.payment_reauthorize(account=account, idempotency_key="reauth-1")

    account.refresh_from_db()
    assert account.authorized_amount == Decimal("100.00")
    assert account.status == "authorized"
