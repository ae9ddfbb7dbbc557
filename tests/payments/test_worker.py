"""Asynchronous refunds and retries through a real Celery worker on Redis."""

from decimal import Decimal

import pytest

from payments import services, tasks
from payments.models import PaymentTransaction
from tests.integration_support import (
    needs_services,
    purge_queue,
    wait_until,
    worker_thread,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    needs_services,
]


def test_a_worker_carries_out_an_async_refund_that_fails_once(open_account, settings):
    settings.OMS_PAYMENT_RETRY_BACKOFF_SECONDS = [1, 1]
    purge_queue()
    account = open_account(token="tok_approve", amount="60.00")
    services.payment_capture(
        account=account, amount=Decimal("60.00"), idempotency_key="cap-1"
    )
    account.payment_token = "tok_fail_once"
    account.save(update_fields=["payment_token"])

    with worker_thread():
        [refund] = services.payment_refund(
            account=account,
            amount=Decimal("15.00"),
            idempotency_key="ref-1",
            asynchronous=True,
        )

        def refunded() -> bool:
            tasks.retry_due_transactions.delay()  # what beat does every 10 s
            return PaymentTransaction.objects.get(pk=refund.pk).status == "succeeded"

        wait_until(refunded, timeout=30, interval=1, message="refund never succeeded")

    refund.refresh_from_db()
    account.refresh_from_db()
    assert refund.attempts == 2
    assert account.refunded_amount == Decimal("15.00")
