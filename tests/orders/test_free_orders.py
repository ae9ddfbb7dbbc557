"""Free orders (a giveaway, a gift wholly discounted): taken in without a payment,
approved, shipped and cancelled with no money to move."""

from decimal import Decimal

import pytest
from django.test import Client

from inventory import services as inventory_services
from orders.intake import LineInput
from orders.models import Order
from payments.models import PaymentAccount, PaymentTransaction

pytestmark = pytest.mark.django_db


def free_payload(**overrides) -> dict:
    body = {
        "channel": "web",
        "external_id": "GIFT-1",
        "currency": "USD",
        "customer_email": "ada@example.com",
        "shipping_address": {"address_line1": "1 Analytical Row", "city": "London"},
        "lines": [{"sku": "SKU-A", "quantity": 1, "unit_price": "10.00"}],
        "discount": "10.00",
    }
    body.update(overrides)
    return body


FREE_LINES = [LineInput(sku="SKU-A", quantity=1, unit_price=Decimal("0.00"))]


@pytest.fixture
def free_order(opened_order):
    """An opened order of one item given away, with no payment token."""

    def make():
        return opened_order(
            payment_token="", lines=FREE_LINES, shipping_price=0, shipping_tax=0
        )

    return make


def test_a_free_order_is_taken_in_without_a_payment(integration_api, channel, products):
    response = integration_api.post(
        "/api/v1/orders", free_payload(payment_token=""), format="json"
    )
    imported = integration_api.post(
        "/api/v1/orders/import",
        {"orders": [free_payload(external_id="GIFT-2")]},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert Decimal(response.json()["total"]) == 0
    assert imported.json()["results"][0]["status"] == "created"
    assert Order.objects.count() == 2
    assert not PaymentAccount.objects.exists()


def test_an_order_to_pay_needs_a_payment_token(integration_api, channel, products):
    body = free_payload(discount="0.00")

    response = integration_api.post("/api/v1/orders", body, format="json")

    assert response.status_code == 400
    assert "payment_token" in response.json()["errors"]
    assert not Order.objects.exists()


def test_a_free_order_opens_approved_and_cancels_with_no_money_to_move(
    free_order, api_client_for
):
    order = free_order()
    assert order.status == Order.Status.OPENED

    response = api_client_for("csr").post(
        f"/api/v1/orders/{order.number}/cancel",
        {"reason": "Customer changed their mind"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert not PaymentTransaction.objects.exists()


def test_a_dearer_swap_on_a_free_order_is_refused_and_changes_nothing(
    free_order, api_client_for
):
    order = free_order()
    line = order.lines.get()

    response = api_client_for("csr").post(
        f"/api/v1/orders/{order.number}/swap-items",
        {
            "reason": "Out of stock",
            "line_id": line.pk,
            "new_sku": "SKU-B",
            "quantity": 1,
            "new_unit_price": "5.00",
        },
        format="json",
    )

    assert response.status_code == 409
    assert "no payment of its own" in response.json()["detail"]
    line.refresh_from_db()
    assert (line.quantity_open, order.lines.count()) == (1, 1)
    assert not PaymentAccount.objects.exists()


def test_a_free_pos_sale_completes_at_the_till(place_order, products, store):
    inventory_services.adjustment_create(
        location=store, product=products["SKU-A"], quantity=3, reason="found"
    )

    order = place_order(
        order_type="pos",
        pickup_location=store.code,
        payment_token="",
        lines=FREE_LINES,
        shipping_price=0,
        shipping_tax=0,
    )

    assert order.status == Order.Status.COMPLETED
    assert order.lines.get().quantity_fulfilled == 1
    assert not PaymentAccount.objects.exists()


def test_a_free_orders_page_shows_no_payment_and_cancels_items_for_nothing(
    free_order, make_user
):
    order = free_order()
    line = order.lines.get()
    csr = Client()
    csr.force_login(make_user("csr"))

    page = csr.get(f"/backoffice/orders/{order.number}/")
    preview = csr.post(
        f"/backoffice/orders/{order.number}/cancel-items/",
        {f"qty-{line.pk}": "1", "reason": "Damaged"},
    )

    assert page.status_code == 200
    assert "Nothing to pay: a free order" in page.content.decode()
    assert "Cancel whole order" in page.content.decode()
    assert preview.status_code == 200
    assert "0.00 USD" in preview.content.decode()
