"""Real threads against PostgreSQL: the account lock keeps money exact."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from oms.errors import Conflict
from payments import services
from payments.models import PaymentAccount, PaymentTransaction

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def run_at_once(*calls):
    """Start every call at the same moment, each in its own thread and database
    connection; return what each returned or raised."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            outcomes[index] = call()
        except Exception as exc:  # the outcome under test
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(index, call))
        for index, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.fixture
def captured_account(open_account):
    account = open_account(amount="100.00")
    services.payment_capture(
        account=account, amount=Decimal("100.00"), idempotency_key="cap-all"
    )
    return account


def refund(account, amount: str, key: str, asynchronous: bool = False):
    return lambda: services.payment_refund(
        account=PaymentAccount.objects.get(pk=account.pk),
        amount=Decimal(amount),
        idempotency_key=key,
        asynchronous=asynchronous,
    )


@pytest.mark.parametrize("asynchronous", [False, True])
def test_two_concurrent_refunds_never_exceed_the_captured_amount(
    captured_account, asynchronous
):
    outcomes = run_at_once(
        refund(captured_account, "60.00", "ref-a", asynchronous),
        refund(captured_account, "60.00", "ref-b", asynchronous),
    )

    conflicts = [o for o in outcomes if isinstance(o, Conflict)]
    refunds = [o for o in outcomes if isinstance(o, list)]
    assert len(conflicts) == 1 and len(refunds) == 1
    assert conflicts[0].code == "amount_exceeds_refundable"
    refunds_made = PaymentTransaction.objects.filter(
        account=captured_account, kind="refund"
    )
    assert [r.amount for r in refunds_made] == [Decimal("60.00")]
    captured_account.refresh_from_db()
    # Asynchronous ones were carried out by the (eager) task after commit.
    assert captured_account.refunded_amount == Decimal("60.00")


def test_many_concurrent_refunds_stop_exactly_at_the_captured_amount(
    captured_account,
):
    outcomes = run_at_once(
        *(refund(captured_account, "30.00", f"ref-{n}") for n in range(6))
    )

    assert sum(isinstance(o, list) for o in outcomes) == 3
    assert sum(isinstance(o, Conflict) for o in outcomes) == 3
    captured_account.refresh_from_db()
    assert captured_account.refunded_amount == Decimal("90.00")


def test_two_concurrent_captures_never_exceed_the_authorization(open_account):
    account = open_account(amount="100.00")

    def capture(key):
        return lambda: services.payment_capture(
            account=PaymentAccount.objects.get(pk=account.pk),
            amount=Decimal("60.00"),
            idempotency_key=key,
        )

    outcomes = run_at_once(capture("cap-a"), capture("cap-b"))

    assert sum(isinstance(o, Conflict) for o in outcomes) == 1
    account.refresh_from_db()
    assert account.captured_amount == Decimal("60.00")
    assert account.status == "partially_captured"


def test_the_same_capture_key_sent_twice_at_once_captures_once(open_account):
    account = open_account(amount="100.00")

    def capture():
        return services.payment_capture(
            account=PaymentAccount.objects.get(pk=account.pk),
            amount=Decimal("100.00"),
            idempotency_key="cap-same",
        )

    first, second = run_at_once(capture, capture)

    assert [txn.pk for txn in first] == [txn.pk for txn in second]
    account.refresh_from_db()
    assert account.captured_amount == Decimal("100.00")


def test_the_sweep_skips_a_transaction_an_attempt_is_holding(open_account, settings):
    settings.OMS_PAYMENT_RETRY_BACKOFF_SECONDS = [0, 0]
    account = open_account(token="tok_fail_once")
    [txn] = account.transactions.all()
    held, release = threading.Event(), threading.Event()

    def hold_the_row():
        try:
            with transaction.atomic():
                PaymentTransaction.objects.select_for_update().get(pk=txn.pk)
                held.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    held.wait(timeout=30)
    try:
        while_held = services.payment_transactions_due()
    finally:
        release.set()
        holder.join(timeout=30)

    assert while_held == []
    assert services.payment_transactions_due() == [txn.pk]
