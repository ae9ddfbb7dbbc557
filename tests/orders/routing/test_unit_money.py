"""A line's money through real shipments, cancellations and returns: to the cent.

The line is 2 units payable 0.05, so one unit is 0.025 and rounds half-up to 0.03:
the shipped unit is worth 0.03 and the other 0.02, in whatever order they go."""

from decimal import Decimal

import pytest

from orders import services as order_services
from orders.intake import LineInput
from orders.routing import services
from orders.routing.models import FulfillmentRequest, Invoice
from payments.models import PaymentAccount

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def five_cent_line(london_order, places, products, put_stock, run_brokering):
    """An order of one line, 2 × SKU-A at 0.03 less 0.01 (0.05, no shipping),
    routed to the nearest store."""
    put_stock(places["near"], products["SKU-A"], 2)

    def make():
        order = london_order(
            lines=[
                LineInput(
                    sku="SKU-A", quantity=2, unit_price=D("0.03"), discount=D("0.01")
                )
            ],
            shipping_price=D("0"),
            shipping_tax=D("0"),
        )
        run_brokering()
        return order, FulfillmentRequest.objects.get(order=order)

    return make


def money(order) -> dict[str, Decimal]:
    account = PaymentAccount.objects.get(owner_type="order", owner_id=str(order.pk))
    return {
        "authorized": account.authorized_amount,
        "captured": account.captured_amount,
        "voided": account.voided_amount,
        "refunded": account.refunded_amount,
    }


def ship_one_unit(request):
    """The store keeps one unit (it goes back to open) and ships the other."""
    line_id = request.lines.get().order_line_id
    services.fulfillment_request_reject(
        request=request, actor=None, reason="One damaged", quantities={line_id: 1}
    )
    services.fulfillment_request_accept(request=request, actor=None)
    services.fulfillment_request_ship(
        request=request, actor=None, carrier="DHL", tracking_number="T1"
    )


def cancel_open_unit(order):
    line = order.lines.get()
    order_services.order_lines_cancel(
        order=order, quantities={line.pk: 1}, actor=None, reason="Out of stock"
    )


def return_units(order, units):
    line = order.lines.get()
    order_services.order_lines_return(
        order=order,
        quantities={line.pk: units},
        include_shipping=False,
        actor=None,
        reason="RMA",
    )


def test_shipping_one_unit_then_cancelling_the_other_moves_five_cents(
    five_cent_line,
):
    order, request = five_cent_line()

    ship_one_unit(request)
    cancel_open_unit(order)

    assert money(order) == {
        "authorized": D("0.05"),
        "captured": D("0.03"),
        "voided": D("0.02"),
        "refunded": D("0"),
    }
    assert Invoice.objects.get(request=request).amount == D("0.03")
    line = order.lines.get()
    assert (line.quantity_cancelled, line.credited_amount) == (1, D("0.02"))
    order.refresh_from_db()
    assert order.status == "completed"


def test_cancelling_one_unit_then_shipping_the_other_moves_five_cents(
    five_cent_line,
):
    order, request = five_cent_line()
    line_id = order.lines.get().pk
    services.fulfillment_request_reject(
        request=request, actor=None, reason="One damaged", quantities={line_id: 1}
    )

    cancel_open_unit(order)
    services.fulfillment_request_accept(request=request, actor=None)
    services.fulfillment_request_ship(
        request=request, actor=None, carrier="DHL", tracking_number="T1"
    )

    assert money(order) == {
        "authorized": D("0.05"),
        "captured": D("0.03"),
        "voided": D("0.02"),
        "refunded": D("0"),
    }


def test_returning_both_units_one_by_one_refunds_what_was_captured(five_cent_line):
    order, request = five_cent_line()
    services.fulfillment_request_accept(request=request, actor=None)
    services.fulfillment_request_ship(
        request=request, actor=None, carrier="DHL", tracking_number="T1"
    )

    return_units(order, 1)
    assert money(order)["refunded"] == D("0.03")
    return_units(order, 1)

    assert money(order) == {
        "authorized": D("0.05"),
        "captured": D("0.05"),
        "voided": D("0"),
        "refunded": D("0.05"),
    }
    assert order.lines.get().credited_amount == D("0.05")


def test_a_shipped_unit_returned_and_the_other_cancelled_gives_everything_back(
    five_cent_line,
):
    order, request = five_cent_line()

    ship_one_unit(request)
    return_units(order, 1)
    cancel_open_unit(order)

    assert money(order) == {
        "authorized": D("0.05"),
        "captured": D("0.03"),
        "voided": D("0.02"),
        "refunded": D("0.03"),
    }
    line = order.lines.get()
    assert (line.quantity_returned, line.quantity_cancelled) == (1, 1)
    assert line.credited_amount == D("0.05")
