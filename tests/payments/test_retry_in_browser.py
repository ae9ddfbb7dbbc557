"""A CSR sees a capture that timed out for good and retries it from the page."""

from decimal import Decimal

import pytest

from oms.roles import Role
from payments import services, tasks

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_csr_retries_a_failed_capture_and_it_succeeds(
    page, live_server, login, make_user, open_account, settings, screenshot
):
    settings.OMS_PAYMENT_RETRY_BACKOFF_SECONDS = [0]  # two automatic attempts
    account = open_account(token="tok_timeout", amount="80.00")
    tasks.retry_due_transactions()  # the authorization's 2nd attempt times out too
    [authorization] = account.transactions.all()
    services.payment_transaction_retry(transaction=authorization)  # 3rd succeeds
    [refused] = services.payment_capture(
        account=account, amount=Decimal("30.00"), idempotency_key="cap-1"
    )
    tasks.retry_due_transactions()
    refused.refresh_from_db()
    assert refused.status == "failed"

    login(page, make_user(Role.CSR))
    page.goto(f"{live_server.url}/backoffice/payments/accounts/{account.pk}/")
    row = page.get_by_test_id(f"payment-transaction-{refused.pk}")
    assert "Failed" in row.inner_text()
    assert "Gateway timed out." in row.inner_text()
    screenshot(page, "payments-failed-capture")

    row.get_by_role("button", name="Retry capture").click()

    assert "retried" in page.get_by_role("status").inner_text()
    row = page.get_by_test_id(f"payment-transaction-{refused.pk}")
    assert "Succeeded" in row.inner_text()
    assert page.get_by_test_id("captured-amount").inner_text() == "30.00 USD"
    assert row.get_by_role("button", name="Retry capture").count() == 0
    screenshot(page, "payments-capture-retried")
