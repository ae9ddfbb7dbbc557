"""The payment gateway times out, fails once or refuses refunds while a real worker
process retries, and the worker is SIGKILLed half-way: the money on each account
equals what the gateway's own ledger moved, every retry used the same key, and no
key moved money twice."""

from decimal import Decimal

import pytest

from payments import services, tasks
from payments.models import PaymentAccount, PaymentTransaction, TestProviderOperation
from tests.integration_support import (
    WorkerProcess,
    needs_services,
    purge_queue,
    wait_until,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    needs_services,
]

TOKENS = ["tok_timeout", "tok_timeout", "tok_fail_once", "tok_fail_once",
          "tok_refund_fail", "tok_approve"]  # fmt: skip
BACKOFF = [0.5] * 5


def settled_after_a_sweep() -> bool:
    """Publish beat's retry sweep (every 10 s in production); True once nothing
    is pending any more."""
    tasks.retry_due_transactions.delay()
    return not PaymentTransaction.objects.filter(status="pending").exists()


def pending_transactions() -> str:
    pending = PaymentTransaction.objects.filter(status="pending")
    return f"still pending: {list(pending.values('kind', 'attempts', 'error'))}"


def wait_for_retries() -> None:
    wait_until(
        settled_after_a_sweep, timeout=30, interval=0.5, message=pending_transactions
    )


def gateway_moved(account: PaymentAccount, operation: str) -> Decimal:
    keys = account.transactions.values_list("idempotency_key", flat=True)
    return sum(
        TestProviderOperation.objects.filter(
            idempotency_key__in=keys, operation=operation, outcome="succeeded"
        ).values_list("amount", flat=True),
        Decimal("0"),
    )


def test_gateway_faults_and_a_killed_worker_leave_the_money_exact(
    open_account, settings
):
    settings.OMS_PAYMENT_RETRY_BACKOFF_SECONDS = BACKOFF
    purge_queue()
    worker_env = {"FAULT_PAYMENT_BACKOFF": ",".join(map(str, BACKOFF))}
    worker = WorkerProcess(app="tests.fault_worker", **worker_env).start()
    try:
        accounts = [open_account(token=token, amount="80.00") for token in TOKENS]
        wait_for_retries()
        for n, account in enumerate(accounts):  # shipped: half captured
            services.payment_capture(
                account=account, amount=Decimal("40.00"), idempotency_key=f"cap-{n}"
            )
        worker.kill()  # mid-retries: captures of tok_timeout/fail_once are pending
        worker = WorkerProcess(app="tests.fault_worker", **worker_env).start()
        wait_for_retries()
        for n, account in enumerate(accounts):  # returned: refunded by a task
            services.payment_refund(
                account=account,
                amount=Decimal("15.00"),
                idempotency_key=f"ref-{n}",
                asynchronous=True,
            )
        wait_for_retries()
    finally:
        worker.stop()
        purge_queue()

    for account, token in zip(accounts, TOKENS, strict=True):
        account.refresh_from_db()
        refunded = Decimal("0") if token == "tok_refund_fail" else Decimal("15.00")
        assert (
            account.authorized_amount,
            account.captured_amount,
            account.refunded_amount,
        ) == (Decimal("80.00"), Decimal("40.00"), refunded), token
        for operation, ours in [
            ("authorize", account.authorized_amount),
            ("capture", account.captured_amount),
            ("refund", account.refunded_amount),
        ]:
            assert gateway_moved(account, operation) == ours, (token, operation)
    succeeded_keys = set(
        PaymentTransaction.objects.filter(status="succeeded").values_list(
            "idempotency_key", flat=True
        )
    )
    gateway_keys = set(
        TestProviderOperation.objects.filter(outcome="succeeded").values_list(
            "idempotency_key", flat=True
        )
    )
    assert succeeded_keys == gateway_keys  # nothing moved that we do not know of
    attempts = {
        (txn.account.payment_token, txn.kind): txn.attempts
        for txn in PaymentTransaction.objects.select_related("account")
    }
    assert attempts[("tok_timeout", "capture")] == 3  # two timeouts, one success
    assert attempts[("tok_fail_once", "refund")] == 2
    [refused] = PaymentTransaction.objects.filter(kind="refund", status="failed")
    assert (refused.account.payment_token, refused.attempts) == ("tok_refund_fail", 1)
