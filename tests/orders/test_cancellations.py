"""Cancelling whole orders and chosen items: the right money movement per stage."""

from decimal import Decimal

import pytest

from inventory import services as inventory_services
from inventory.models import StockLevel
from oms.models import Event
from orders import services
from orders.models import Order
from payments import tasks as payment_tasks
from payments.services import payment_capture

pytestmark = pytest.mark.django_db

D = Decimal


def lines_by_sku(order):
    return {line.sku: line for line in order.lines.all()}


def test_cancelling_before_capture_voids_the_whole_authorization(
    opened_order, api_client_for
):
    order = opened_order()

    response = api_client_for("csr").post(
        f"/api/v1/orders/{order.number}/cancel",
        {"reason": "Customer asked"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    account = services.order_account(order)
    assert (account.voided_amount, account.refunded_amount) == (D("55.00"), D("0"))
    assert all(line.status == "cancelled" for line in order.lines.all())
    event = Event.objects.get(name="order.cancelled", entity_id=str(order.pk))
    assert event.payload["amount_voided"] == "55.00"
    assert event.payload["reason"] == "Customer asked"


def test_cancelling_after_capture_refunds_the_captured_amount(opened_order):
    order = opened_order()
    account = services.order_account(order)
    payment_capture(account=account, amount=D("55.00"), idempotency_key="capture-all")

    services.order_cancel(order=order, actor=None, reason="Fraud confirmed")

    account.refresh_from_db()
    assert (account.voided_amount, account.refunded_amount) == (D("0"), D("55.00"))


def test_cancelling_after_a_partial_capture_voids_the_rest_then_refunds(opened_order):
    order = opened_order()
    account = services.order_account(order)
    payment_capture(account=account, amount=D("20.00"), idempotency_key="capture-part")

    services.order_cancel(order=order, actor=None, reason="Changed mind")

    account.refresh_from_db()
    assert (account.voided_amount, account.refunded_amount) == (D("35.00"), D("20.00"))


def test_cancelling_items_gives_back_their_share_and_keeps_shipping(opened_order):
    order = opened_order()
    line_a = lines_by_sku(order)["SKU-A"]

    plan = services.order_lines_cancel(
        order=order, quantities={line_a.pk: 1}, actor=None, reason="Out of stock"
    )

    assert plan.total == D("11.00")
    line_a.refresh_from_db()
    assert (line_a.quantity_open, line_a.quantity_cancelled) == (1, 1)
    assert line_a.credited_amount == D("11.00")
    order.refresh_from_db()
    assert order.status == "opened"
    assert services.order_account(order).voided_amount == D("11.00")
    event = Event.objects.get(name="order.items_cancelled", entity_id=str(order.pk))
    assert event.payload["line_id"] == line_a.pk
    assert event.payload["amount"] == "11.00"


def test_cancelling_everything_left_item_by_item_cancels_the_order_and_its_shipping(
    opened_order,
):
    order = opened_order()
    lines = lines_by_sku(order)
    services.order_lines_cancel(
        order=order, quantities={lines["SKU-A"].pk: 2}, actor=None, reason="r"
    )

    plan = services.order_lines_cancel(
        order=order, quantities={lines["SKU-B"].pk: 1}, actor=None, reason="r"
    )

    assert plan.shipping == D("5.50")
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert order.shipping_credited == D("5.50")
    assert services.order_account(order).voided_amount == order.total


def test_cancelling_more_than_is_left_is_refused_and_changes_nothing(
    opened_order, api_client_for
):
    order = opened_order()
    line_b = lines_by_sku(order)["SKU-B"]

    response = api_client_for("csr").post(
        f"/api/v1/orders/{order.number}/cancel-items",
        {"reason": "r", "items": [{"line_id": line_b.pk, "quantity": 2}]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["type"] == "invalid_quantities"
    line_b.refresh_from_db()
    assert line_b.quantity_cancelled == 0


def test_a_completed_order_cannot_be_cancelled(place_order, store, api_client_for):
    product = inventory_services.product_create(sku="SKU-POS", name="Till item")
    inventory_services.adjustment_create(
        location=store, product=product, quantity=1, reason="found"
    )
    from orders.intake import LineInput

    order = place_order(
        order_type="pos",
        pickup_location=store.code,
        lines=[LineInput(sku="SKU-POS", quantity=1, unit_price=D("4.00"))],
    )

    response = api_client_for("csr").post(
        f"/api/v1/orders/{order.number}/cancel", {"reason": "too late"}, format="json"
    )

    assert response.status_code == 409
    assert Order.objects.get(pk=order.pk).status == "completed"


def test_cancelling_allocated_units_releases_the_lines_reservation(opened_order, store):
    order = opened_order()
    line_a = lines_by_sku(order)["SKU-A"]
    inventory_services.adjustment_create(
        location=store, product=line_a.product, quantity=5, reason="found"
    )
    # What routing does when it places the line at the store.
    inventory_services.reservation_create(
        location=store,
        product=line_a.product,
        quantity=2,
        owner_type="order_line",
        owner_id=str(line_a.pk),
    )
    type(line_a).objects.filter(pk=line_a.pk).update(
        quantity_open=0, quantity_allocated=2
    )

    services.order_cancel(order=order, actor=None, reason="Customer asked")

    level = StockLevel.objects.get(location=store, product=line_a.product)
    assert level.reserved == 0


def test_returned_units_are_refunded_with_shipping_when_asked(place_order, store):
    product = inventory_services.product_create(sku="SKU-POS", name="Till item")
    inventory_services.adjustment_create(
        location=store, product=product, quantity=3, reason="found"
    )
    from orders.intake import LineInput

    order = place_order(
        order_type="pos",
        pickup_location=store.code,
        lines=[LineInput(sku="SKU-POS", quantity=3, unit_price=D("3.33"))],
    )
    line = order.lines.get()

    first = services.order_lines_return(
        order=order,
        quantities={line.pk: 1},
        include_shipping=False,
        actor=None,
        reason="RMA-1",
    )
    rest = services.order_lines_return(
        order=order,
        quantities={line.pk: 2},
        include_shipping=True,
        actor=None,
        reason="RMA-2",
    )

    assert (first.total, rest.total) == (D("3.33"), D("6.66") + D("5.50"))
    line.refresh_from_db()
    assert (line.quantity_fulfilled, line.quantity_returned) == (0, 3)
    assert services.order_account(order).refunded_amount == order.total


def test_an_order_whose_authorization_is_pending_can_be_cancelled_by_a_csr(
    place_order, api_client_for, settings
):
    settings.OMS_PAYMENT_RETRY_BACKOFF_SECONDS = [0, 0, 0, 0, 0]
    order = place_order(payment_token="tok_timeout")  # the gateway timed out
    account = services.order_account(order)
    assert account.status == "pending_authorization"

    response = api_client_for("csr").post(
        f"/api/v1/orders/{order.number}/cancel",
        {"reason": "Customer gave up waiting"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    event = Event.objects.get(name="order.cancelled", entity_id=str(order.pk))
    assert D(event.payload["amount_voided"]) == D(event.payload["amount_refunded"]) == 0
    # The retry that was due runs after the cancellation: it authorizes nothing.
    assert payment_tasks.retry_due_transactions() == 0
    account = services.order_account(order)
    [authorization] = account.transactions.all()
    assert authorization.status == "cancelled"
    assert (account.status, account.authorized_amount) == ("voided", D("0"))


def test_cancelling_items_while_the_authorization_is_pending_is_a_conflict(
    place_order, api_client_for
):
    order = place_order(payment_token="tok_timeout")
    line = lines_by_sku(order)["SKU-A"]

    response = api_client_for("csr").post(
        f"/api/v1/orders/{order.number}/cancel-items",
        {"reason": "Out of stock", "items": [{"line_id": line.pk, "quantity": 1}]},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["type"] == "payment_authorization_pending"
    line.refresh_from_db()
    assert line.quantity_cancelled == 0
    assert services.order_account(order).status == "pending_authorization"


def test_the_money_given_back_is_shown_in_the_currency_minor_unit(
    opened_order, api_client_for
):
    from orders.intake import LineInput

    order = opened_order(
        currency="JPY",
        shipping_price=D("500"),
        shipping_tax=D("0"),
        lines=[LineInput(sku="SKU-A", quantity=2, unit_price=D("1039"))],
    )
    line = lines_by_sku(order)["SKU-A"]

    response = api_client_for("csr").post(
        f"/api/v1/orders/{order.number}/cancel-items",
        {"reason": "Out of stock", "items": [{"line_id": line.pk, "quantity": 1}]},
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["currency"], body["total"], body["shipping"]) == ("JPY", "1039", "0")
    assert body["lines"] == [{"line_id": line.pk, "amount": "1039"}]
