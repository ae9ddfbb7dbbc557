"""Fulfillment requests from assignment to shipment: rejections, shipping with
capture and completion, cancellation while a store holds the request."""

from decimal import Decimal

import pytest

from inventory.models import Reservation, StockLevel
from oms.models import Event
from orders import services as order_services
from orders.intake import LineInput
from orders.models import Order
from orders.routing import services
from orders.routing.models import FulfillmentRequest, Invoice
from payments.models import PaymentAccount

pytestmark = pytest.mark.django_db


def lines():
    return [
        LineInput(sku="SKU-A", quantity=2, unit_price=Decimal("10.00")),
        LineInput(sku="SKU-B", quantity=1, unit_price=Decimal("25.00")),
    ]


@pytest.fixture
def routed(london_order, places, products, put_stock, run_brokering):
    """An order of 2 × SKU-A and 1 × SKU-B (+ 5.00 shipping = 50.00) routed to the
    nearest store; the far store and the DC also carry both."""
    for place in places.values():
        put_stock(place, products["SKU-A"], 5)
        put_stock(place, products["SKU-B"], 5)

    def make():
        order = london_order(
            lines=lines(), shipping_price=Decimal("5.00"), shipping_tax=Decimal("0")
        )
        run_brokering()
        order.refresh_from_db()
        return order, FulfillmentRequest.objects.get(order=order)

    return make


def captured(order) -> Decimal:
    return PaymentAccount.objects.get(
        owner_type="order", owner_id=str(order.pk)
    ).captured_amount


def test_rejected_lines_go_to_another_location(
    routed, places, run_brokering, django_capture_on_commit_callbacks
):
    order, request = routed()
    line_b = order.lines.get(sku="SKU-B")

    services.fulfillment_request_reject(
        request=request, actor=None, reason="Damaged", quantities={line_b.pk: 1}
    )

    order.refresh_from_db()
    request.refresh_from_db()
    assert order.queue == "rejected"
    assert request.status == "assigned"  # still holds SKU-A
    line_b.refresh_from_db()
    assert (line_b.quantity_open, line_b.quantity_allocated) == (1, 0)
    assert not Reservation.objects.filter(owner_id=str(line_b.pk)).exists()

    run_brokering()

    second = FulfillmentRequest.objects.filter(order=order).exclude(pk=request.pk).get()
    assert second.location == places["far"]
    assert "rejected this order before" in second.explanation["filtered_out"]
    order.refresh_from_db()
    assert order.queue == ""


def test_full_rejection_rejects_the_request(routed):
    order, request = routed()

    services.fulfillment_request_reject(
        request=request, actor=None, reason="Closed today"
    )

    request.refresh_from_db()
    assert request.status == "rejected"
    assert not Reservation.objects.filter(owner_type="order_line").exists()
    assert set(order.lines.values_list("quantity_open", flat=True)) == {2, 1}


def test_ship_consumes_stock_captures_and_completes(routed, places, products):
    order, request = routed()
    services.fulfillment_request_accept(request=request, actor=None)
    services.fulfillment_request_pack(request=request, actor=None)
    assert Invoice.objects.get(request=request).amount == Decimal("45.00")

    services.fulfillment_request_ship(
        request=request, actor=None, carrier="DHL", tracking_number="TRK1"
    )

    order.refresh_from_db()
    request.refresh_from_db()
    assert (request.status, order.status) == ("completed", "completed")
    assert captured(order) == Decimal("50.00")
    level = StockLevel.objects.get(location=places["near"], product=products["SKU-A"])
    assert (level.on_hand, level.reserved) == (3, 0)
    names = list(
        Event.objects.filter(
            entity_id__in=[str(order.pk), str(request.pk)]
        ).values_list("name", flat=True)
    )
    assert names.count("fulfillment_request.items_completed") == 1
    assert "order.completed" in names
    assert Event.objects.filter(name="invoice.created").count() == 1


def test_ship_twice_is_a_conflict(routed):
    from django_fsm import TransitionNotAllowed

    order, request = routed()
    services.fulfillment_request_accept(request=request, actor=None)
    services.fulfillment_request_ship(
        request=request, actor=None, carrier="UPS", tracking_number="1"
    )
    with pytest.raises(TransitionNotAllowed):
        services.fulfillment_request_ship(
            request=request, actor=None, carrier="UPS", tracking_number="2"
        )
    assert captured(order) == Decimal("50.00")


def test_split_order_emits_items_completed_per_shipment(routed, run_brokering):
    order, request = routed()
    line_b = order.lines.get(sku="SKU-B")
    services.fulfillment_request_reject(
        request=request, actor=None, reason="Damaged", quantities={line_b.pk: 1}
    )
    run_brokering()
    for each in FulfillmentRequest.objects.filter(order=order, status="assigned"):
        services.fulfillment_request_accept(request=each, actor=None)
        services.fulfillment_request_ship(
            request=each, actor=None, carrier="DHL", tracking_number=f"T{each.pk}"
        )
        order.refresh_from_db()
        if order.status != "completed":
            assert captured(order) == Decimal("25.00")  # 2 × 10.00 + shipping

    assert order.status == "completed"
    assert captured(order) == Decimal("50.00")
    assert Event.objects.filter(name="fulfillment_request.items_completed").count() == 2
    assert Event.objects.filter(name="order.completed").count() == 1


def test_cancelling_the_order_withdraws_the_request(routed):
    order, request = routed()

    order_services.order_cancel(order=order, actor=None, reason="Customer changed mind")

    request.refresh_from_db()
    assert request.status == "withdrawn"
    assert not Reservation.objects.filter(owner_type="order_line").exists()
    assert Event.objects.filter(name="fulfillment_request.withdrawn").count() == 1


@pytest.mark.parametrize(
    ("cancelled", "queue", "open_after"),
    [
        ({"SKU-B": 1}, "", {"SKU-A": 0, "SKU-B": 0}),  # a whole line: nothing to place
        ({"SKU-A": 1}, "brokering", {"SKU-A": 1, "SKU-B": 0}),  # one unit is open again
    ],
)
def test_cancelling_allocated_units_sends_back_to_routing_only_what_is_left(
    routed, cancelled, queue, open_after
):
    order, request = routed()
    by_sku = {line.sku: line for line in order.lines.all()}

    order_services.order_lines_cancel(
        order=order,
        quantities={by_sku[sku].pk: units for sku, units in cancelled.items()},
        actor=None,
        reason="Customer changed mind",
    )

    order.refresh_from_db()
    assert (order.status, order.queue) == ("in_fulfillment", queue)
    assert {line.sku: line.quantity_open for line in order.lines.all()} == open_after


def test_reject_without_a_reason_writes_nothing(routed):
    from oms.errors import ApplicationError

    order, request = routed()
    with pytest.raises(ApplicationError) as caught:
        services.fulfillment_request_reject(request=request, actor=None, reason=" ")
    assert caught.value.field_errors == {"reason": ["A reason is required."]}
    assert Reservation.objects.filter(owner_type="order_line").count() == 2
    assert Order.objects.get(pk=order.pk).queue == ""


def test_an_order_swapped_to_a_dearer_item_ships_on_both_authorizations(
    london_order, places, products, put_stock, run_brokering
):
    """The extra authorization for a dearer item holds only the difference: the
    gateway takes the shipment's capture only when it is split across both."""
    for product in products.values():
        put_stock(places["near"], product, 5)
    order = london_order(
        lines=lines(), shipping_price=Decimal("5.00"), shipping_tax=Decimal("0")
    )
    order_services.order_items_swap(
        order=order,
        line_id=order.lines.get(sku="SKU-B").pk,
        new_sku="SKU-D",
        quantity=1,
        new_unit_price=Decimal("40.00"),
        actor=None,
        reason="Upgrade",
    )
    run_brokering()
    request = FulfillmentRequest.objects.get(order=order)
    services.fulfillment_request_accept(request=request, actor=None)

    services.fulfillment_request_ship(
        request=request, actor=None, carrier="DHL", tracking_number="TRK1"
    )

    account = order_services.order_account(order)
    authorizations = account.transactions.filter(kind="authorize").order_by("id")
    captures = account.transactions.filter(kind="capture").order_by("id")
    assert [(a.amount, a.status) for a in authorizations] == [
        (Decimal("50.00"), "succeeded"),
        (Decimal("15.00"), "succeeded"),
    ]
    assert [(c.authorization, c.amount, c.status) for c in captures] == [
        (authorizations[0], Decimal("50.00"), "succeeded"),
        (authorizations[1], Decimal("15.00"), "succeeded"),
    ]
    assert (account.captured_amount, account.status) == (Decimal("65.00"), "captured")
    order.refresh_from_db()
    assert order.status == "completed"


def test_a_free_order_ships_and_completes_with_nothing_to_capture(
    london_order, places, products, put_stock, run_brokering
):
    put_stock(places["near"], products["SKU-A"], 2)
    order = london_order(
        payment_token="",
        lines=[LineInput(sku="SKU-A", quantity=1, unit_price=Decimal("0.00"))],
        shipping_price=Decimal("0"),
        shipping_tax=Decimal("0"),
    )
    run_brokering()
    request = FulfillmentRequest.objects.get(order=order)

    services.fulfillment_request_accept(request=request, actor=None)
    services.fulfillment_request_ship(
        request=request, actor=None, carrier="DHL", tracking_number="TRK9"
    )

    order.refresh_from_db()
    assert order.status == Order.Status.COMPLETED
    assert Invoice.objects.get(request=request).amount == 0
    assert not PaymentAccount.objects.exists()
