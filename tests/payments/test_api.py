from decimal import Decimal

import pytest
from django.urls import reverse

from payments import services

pytestmark = pytest.mark.django_db


def list_url(**params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse("api:payment-account-list") + (f"?{query}" if query else "")


def detail_url(account):
    return reverse("api:payment-account-detail", args=[account.pk])


def retry_url(txn):
    return reverse("api:payment-transaction-retry", args=[txn.pk])


@pytest.fixture
def refused_refund(open_account):
    account = open_account(token="tok_refund_fail", amount="100.00")
    services.payment_capture(
        account=account, amount=Decimal("100.00"), idempotency_key="cap-1"
    )
    [refund] = services.payment_refund(
        account=account,
        amount=Decimal("25.00"),
        idempotency_key="ref-1",
        reference="return-1",
    )
    return refund


@pytest.mark.parametrize("role", ["csr", "integration", "admin"])
def test_accounts_are_listed_by_owner(api_client_for, open_account, role):
    wanted = open_account(owner_id="O-100", amount="19.90")
    open_account(owner_id="O-200")

    response = api_client_for(role).get(list_url(owner_type="order", owner_id="O-100"))

    assert response.status_code == 200
    [account] = response.json()["results"]
    assert account["id"] == wanted.pk
    assert account["status"] == "authorized"
    assert account["authorized_amount"] == "19.90"
    assert account["captured_amount"] == "0.00"
    assert "payment_token" not in account


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("store_associate", 403)])
def test_accounts_need_a_reading_role(api_client_for, role, status):
    response = api_client_for(role).get(list_url())

    assert response.status_code == status
    assert response.json()["status"] == status


def test_detail_shows_amounts_in_the_currency_precision_with_transactions(
    integration_api, open_account, django_assert_max_num_queries
):
    account = open_account(currency="JPY", amount="15000")
    services.payment_capture(
        account=account,
        amount=Decimal("5000"),
        idempotency_key="cap-1",
        reference="shipment-4",
    )

    with django_assert_max_num_queries(6):
        response = integration_api.get(detail_url(account))

    assert response.status_code == 200
    body = response.json()
    assert (body["authorized_amount"], body["captured_amount"]) == ("15000", "5000")
    assert body["uncaptured_amount"] == "10000"
    assert [(t["kind"], t["amount"], t["status"]) for t in body["transactions"]] == [
        ("authorize", "15000", "succeeded"),
        ("capture", "5000", "succeeded"),
    ]
    assert body["transactions"][1]["reference"] == "shipment-4"


def test_detail_of_a_missing_account_is_404(admin_api):
    response = admin_api.get(reverse("api:payment-account-detail", args=[999999]))

    assert response.status_code == 404
    assert response.json()["type"] == "not_found"


def test_csr_retries_a_refused_refund_and_sees_it_failed_again(
    api_client_for, refused_refund
):
    response = api_client_for("csr").post(retry_url(refused_refund))

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["attempts"], body["amount"]) == ("failed", 2, "25.00")
    assert "refused" in body["error"]


def test_retry_of_a_transaction_that_did_not_fail_is_409(admin_api, open_account):
    [txn] = open_account().transactions.all()

    response = admin_api.post(retry_url(txn))

    assert response.status_code == 409
    assert response.json()["type"] == "transaction_not_retryable"


@pytest.mark.parametrize(
    ("role", "status"), [(None, 401), ("integration", 403), ("store_associate", 403)]
)
def test_retry_is_for_csr_and_admin_only(api_client_for, refused_refund, role, status):
    response = api_client_for(role).post(retry_url(refused_refund))

    assert response.status_code == status
    refused_refund.refresh_from_db()
    assert refused_refund.attempts == 1


def test_retry_of_a_missing_transaction_is_404(admin_api):
    response = admin_api.post(reverse("api:payment-transaction-retry", args=[999999]))

    assert response.status_code == 404
