from decimal import Decimal

import pytest
from django.urls import reverse

from payments import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def refused_refund(open_account):
    account = open_account(token="tok_refund_fail", amount="100.00")
    services.payment_capture(
        account=account, amount=Decimal("100.00"), idempotency_key="cap-1"
    )
    [refund] = services.payment_refund(
        account=account, amount=Decimal("25.00"), idempotency_key="ref-1"
    )
    return refund


@pytest.fixture
def csr_client(client, make_user):
    client.force_login(make_user("csr"))
    return client


def test_account_page_shows_amounts_transactions_and_retry_for_the_failed_one(
    csr_client, refused_refund
):
    account = refused_refund.account

    page = csr_client.get(reverse("payments:account-detail", args=[account.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="payment-status">Captured</span>' in html
    assert "100.00 USD" in html
    assert "Refund refused by the issuer." in html
    retry = reverse("payments:transaction-retry", args=[refused_refund.pk])
    assert html.count(">Retry</button>") == 1
    assert f'action="{retry}"' in html


def test_retry_button_retries_and_returns_to_the_page_it_was_pressed_on(
    csr_client, refused_refund
):
    order_page = "/backoffice/orders/17/"

    response = csr_client.post(
        reverse("payments:transaction-retry", args=[refused_refund.pk]),
        {"next": order_page},
        follow=False,
    )

    assert response.status_code == 302
    assert response["Location"] == order_page
    refused_refund.refresh_from_db()
    assert refused_refund.attempts == 2


def test_retry_ignores_a_next_address_on_another_site(csr_client, refused_refund):
    response = csr_client.post(
        reverse("payments:transaction-retry", args=[refused_refund.pk]),
        {"next": "https://evil.example/"},
    )

    assert response["Location"] == reverse(
        "payments:account-detail", args=[refused_refund.account_id]
    )


def test_retry_of_a_succeeded_transaction_shows_why_not(csr_client, open_account):
    [txn] = open_account().transactions.all()

    response = csr_client.post(
        reverse("payments:transaction-retry", args=[txn.pk]), follow=True
    )

    assert "Only a failed transaction can be retried" in response.content.decode()


def test_store_associates_may_not_open_payments(client, make_user, refused_refund):
    client.force_login(make_user("store_associate"))

    page = client.get(
        reverse("payments:account-detail", args=[refused_refund.account_id])
    )
    retry = client.post(reverse("payments:transaction-retry", args=[refused_refund.pk]))

    assert (page.status_code, retry.status_code) == (403, 403)
    refused_refund.refresh_from_db()
    assert refused_refund.attempts == 1


def test_failed_transactions_list_and_dashboard_counter(csr_client, refused_refund):
    listing = csr_client.get(reverse("payments:transaction-list"))
    dashboard = csr_client.get(reverse("backoffice:dashboard"))

    assert f'data-testid="payment-transaction-{refused_refund.pk}"' in (
        listing.content.decode()
    )
    assert "Failed payment transactions" in dashboard.content.decode()
