"""BOPIS, pre-order and auto-cancel flows, and a CSR's bulk queue moves."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import Reservation
from oms.models import Event
from orders.intake import LineInput
from orders.models import Order
from orders.routing import services
from orders.routing.models import FulfillmentRequest, OrderRouting
from payments.models import PaymentAccount

pytestmark = pytest.mark.django_db
FREE_SHIPPING = {"shipping_price": Decimal("0"), "shipping_tax": Decimal("0")}


def one_line(quantity=1):
    return [LineInput(sku="SKU-A", quantity=quantity, unit_price=Decimal("10.00"))]


def account(order):
    return PaymentAccount.objects.get(owner_type="order", owner_id=str(order.pk))


def test_bopis_goes_to_its_store_is_picked_up_and_captured(
    london_order, places, products, put_stock, run_brokering
):
    put_stock(places["far"], products["SKU-A"], 3)
    put_stock(places["near"], products["SKU-A"], 3)
    order = london_order(
        order_type="bopis", pickup_location="CROYDON", lines=one_line(), **FREE_SHIPPING
    )

    run_brokering()

    request = FulfillmentRequest.objects.get(order=order)
    assert (request.location, request.is_pickup) == (places["far"], True)
    services.fulfillment_request_accept(request=request, actor=None)
    services.fulfillment_request_ready_for_pickup(request=request, actor=None)
    request.refresh_from_db()
    assert request.pickup_deadline > timezone.now() + timedelta(days=6)
    assert Event.objects.filter(name="fulfillment_request.ready_for_pickup").exists()

    services.fulfillment_request_picked_up(request=request, actor=None)

    order.refresh_from_db()
    assert order.status == "completed"
    assert account(order).captured_amount == Decimal("10.00")


def test_bopis_not_collected_cancels_and_voids(
    london_order, places, products, put_stock, run_brokering
):
    put_stock(places["near"], products["SKU-A"], 3)
    order = london_order(
        order_type="bopis", pickup_location="CAMDEN", lines=one_line(), **FREE_SHIPPING
    )
    run_brokering()
    request = FulfillmentRequest.objects.get(order=order)
    services.fulfillment_request_accept(request=request, actor=None)
    services.fulfillment_request_ready_for_pickup(request=request, actor=None)

    assert services.pickups_expire(now=timezone.now() + timedelta(days=8)) == 1

    order.refresh_from_db()
    request.refresh_from_db()
    assert (order.status, request.status) == ("cancelled", "not_collected")
    assert account(order).voided_amount == Decimal("10.00")
    assert not Reservation.objects.filter(owner_type="order_line").exists()


def test_bopis_rejected_asks_for_an_alternative_and_a_csr_converts_it(
    london_order, places, products, put_stock, run_brokering
):
    put_stock(places["near"], products["SKU-A"], 3)
    put_stock(places["dc"], products["SKU-A"], 3)
    order = london_order(
        order_type="bopis", pickup_location="CAMDEN", lines=one_line(), **FREE_SHIPPING
    )
    run_brokering()
    request = FulfillmentRequest.objects.get(order=order)

    services.fulfillment_request_reject(
        request=request, actor=None, reason="Shelf empty"
    )

    order.refresh_from_db()
    assert order.queue == "bopis_rejected"
    assert Event.objects.filter(
        name="order.alternative_requested", entity_id=str(order.pk)
    ).exists()

    services.bopis_convert(
        order=order,
        actor=None,
        shipping_address={
            "address_line1": "1 Strand",
            "latitude": 51.5,
            "longitude": -0.12,
        },
    )
    run_brokering()

    order.refresh_from_db()
    assert order.order_type_id == "standard"
    shipped_from = FulfillmentRequest.objects.filter(
        order=order, status="assigned"
    ).get()
    assert (shipped_from.location, shipped_from.is_pickup) == (places["dc"], False)


def test_pre_order_waits_for_its_promise_date_and_stock(
    london_order, places, products, put_stock, run_brokering
):
    promise = timezone.localdate() + timedelta(days=3)
    order = london_order(
        order_type="pre_order", promise_date=promise, lines=one_line(), **FREE_SHIPPING
    )
    assert order.queue == "pre_order"
    run_brokering()
    assert not FulfillmentRequest.objects.filter(order=order).exists()

    assert services.orders_release_parked(today=promise) == 0  # no stock yet
    put_stock(places["dc"], products["SKU-A"], 1)
    assert services.orders_release_parked(today=promise - timedelta(days=1)) == 0
    assert services.orders_release_parked(today=promise) == 1

    order.refresh_from_db()
    assert order.queue == "brokering"
    run_brokering()
    assert FulfillmentRequest.objects.get(order=order).location == places["dc"]


def test_unfillable_orders_are_cancelled_after_their_date_unless_held(
    london_order, places, run_brokering
):
    lost = london_order(lines=one_line(), **FREE_SHIPPING)
    kept = london_order(lines=one_line(), **FREE_SHIPPING)
    run_brokering()
    assert set(Order.objects.values_list("queue", flat=True)) == {"unfillable"}

    held = services.orders_move_queue(
        numbers=[kept.number, "NO-SUCH"], queue="unfillable_hold", actor=None
    )
    assert (held.moved, held.unknown) == ([kept.number], ["NO-SUCH"])

    later = timezone.now() + timedelta(days=8)
    assert services.orders_auto_cancel_due(now=later) == 1

    lost.refresh_from_db()
    kept.refresh_from_db()
    assert (lost.status, kept.status, kept.queue) == (
        "cancelled",
        "opened",
        "unfillable_hold",
    )
    assert account(lost).voided_amount == Decimal("10.00")
    assert Event.objects.filter(name="order.cancelled", entity_id=str(lost.pk)).exists()

    services.orders_move_queue(numbers=[kept.number], queue="unfillable", actor=None)
    kept.refresh_from_db()
    assert kept.queue == "unfillable"
    assert OrderRouting.objects.get(order=kept).auto_cancel_at > later - timedelta(
        days=1
    )


def test_moving_an_order_from_the_wrong_queue_is_refused(london_order):
    order = london_order(lines=one_line(), **FREE_SHIPPING)

    result = services.orders_move_queue(
        numbers=[order.number], queue="unfillable_hold", actor=None
    )

    assert result.moved == []
    assert order.number in result.refused
    order.refresh_from_db()
    assert order.queue == "brokering"


def test_bopis_goes_to_its_store_when_it_opens_without_a_run(
    london_order, places, products, put_stock
):
    put_stock(places["far"], products["SKU-A"], 3)

    order = london_order(
        order_type="bopis", pickup_location="CROYDON", lines=one_line(), **FREE_SHIPPING
    )

    assert (order.status, order.queue) == ("in_fulfillment", "")
    request = FulfillmentRequest.objects.get(order=order)
    assert (request.location, request.is_pickup) == (places["far"], True)
    assert Reservation.objects.get(owner_type="order_line").location == places["far"]


def test_bopis_without_stock_at_its_store_asks_for_an_alternative_at_once(
    london_order, places, products, put_stock
):
    put_stock(places["near"], products["SKU-A"], 3)  # not at the pickup store

    order = london_order(
        order_type="bopis", pickup_location="CROYDON", lines=one_line(), **FREE_SHIPPING
    )

    assert order.queue == "bopis_rejected"
    assert Event.objects.filter(
        name="order.alternative_requested", entity_id=str(order.pk)
    ).exists()
    assert not Reservation.objects.exists()


def test_auto_cancel_of_a_partly_shipped_order_cancels_only_what_is_left(
    london_order, places, products, put_stock, run_brokering
):
    put_stock(places["near"], products["SKU-A"], 5)
    put_stock(places["near"], products["SKU-B"], 1)
    order = london_order(
        lines=[
            *one_line(),
            LineInput(sku="SKU-B", quantity=1, unit_price=Decimal("20.00")),
        ],
        **FREE_SHIPPING,
    )
    run_brokering()
    request = FulfillmentRequest.objects.get(order=order)
    line_b = order.lines.get(sku="SKU-B")
    services.fulfillment_request_reject(
        request=request, actor=None, reason="Broken", quantities={line_b.pk: 1}
    )
    services.fulfillment_request_accept(request=request, actor=None)
    services.fulfillment_request_ship(
        request=request, actor=None, carrier="DHL", tracking_number="T1"
    )
    run_brokering()  # SKU-B nowhere else: unfillable
    order.refresh_from_db()
    assert (order.status, order.queue) == ("in_fulfillment", "unfillable")

    assert services.orders_auto_cancel_due(now=timezone.now() + timedelta(days=8)) == 1

    order.refresh_from_db()
    line_b.refresh_from_db()
    assert order.status == "completed"
    assert line_b.quantity_cancelled == 1
    assert account(order).captured_amount == Decimal("10.00")
    assert account(order).voided_amount == Decimal("20.00")
