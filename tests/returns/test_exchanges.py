"""Exchanges: a return that asks for a replacement, and the replacement order it
creates; final-sale lines; the order's `returned` state."""

from decimal import Decimal

import pytest
from django.utils import timezone

from oms.errors import ApplicationError
from oms.models import Event, StateTransition
from orders import services as order_services
from orders.intake import LineInput
from orders.models import Order
from orders.routing.models import FulfillmentRequest, Shipment
from orders.routing.services import fulfillment_request_accept, fulfillment_request_ship
from orders.tasks import recheck_held_orders
from payments.models import PaymentAccount, PaymentTransaction
from returns.models import Return
from returns.services import ReplacementInput, ReturnItemInput, return_create
from tests.returns.conftest import item

pytestmark = pytest.mark.django_db


def exchange(order, returned_sku, units=1, **replacement):
    line = order.lines.get(sku=returned_sku)
    return ReturnItemInput(
        order_line_id=line.pk,
        quantity=units,
        reason="size",
        condition="resellable",
        replacement=ReplacementInput(**replacement),
    )


def submit(order, items, location):
    ret, _ = return_create(order=order, items=items, location=location, actor=None)
    return ret


def account(order):
    return order_services.order_account(order)


def test_exchange_for_the_same_sku_credits_the_item_and_refunds_nothing(
    shipped_order, places, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ret = submit(shipped_order, [exchange(shipped_order, "SKU-A")], places["near"])

    assert ret.status == "processed"
    assert (ret.total_refund_amount, ret.total_credit_amount) == (0, Decimal("11"))
    replacement = ret.replacement_order
    assert replacement.order_type_id == "replacement"
    assert replacement.status == "created"
    assert replacement.replacement_for_return == ret
    assert (replacement.total, replacement.exchange_credit) == (
        Decimal("11.00"),
        Decimal("11.00"),
    )
    assert [(line.sku, line.quantity) for line in replacement.lines.all()] == [
        ("SKU-A", 1)
    ]
    assert replacement.shipping_address == shipped_order.shipping_address
    assert account(replacement) is None
    assert account(shipped_order).refunded_amount == 0
    assert not PaymentTransaction.objects.filter(kind="refund").exists()
    created = Event.objects.get(name="order.created", entity_id=str(replacement.pk))
    assert created.payload["replacement_for"] == {
        "return_id": ret.pk,
        "rma_number": ret.rma_number,
        "order_number": shipped_order.number,
    }
    assert created.payload["amount_to_pay"] == "0.00"


def test_exchange_for_another_sku_at_a_lower_price_refunds_only_the_rest(
    shipped_order, places, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ret = submit(
            shipped_order,
            [exchange(shipped_order, "SKU-B", sku="SKU-C", unit_price=Decimal("20"))],
            places["near"],
        )

    # SKU-B was 25.00 + 2.50 tax; SKU-C at 20.00 keeps the 10 % tax: 22.00.
    assert ret.total_credit_amount == Decimal("22.00")
    assert ret.total_refund_amount == Decimal("5.50")
    assert account(shipped_order).refunded_amount == Decimal("5.50")
    line = ret.lines.get()
    assert (line.refund_amount, line.credit_amount) == (Decimal("5.5"), Decimal("22"))
    replacement = ret.replacement_order
    assert [
        (line.sku, line.unit_price, line.tax) for line in replacement.lines.all()
    ] == [("SKU-C", Decimal("20.00"), Decimal("2.00"))]
    assert replacement.total == replacement.exchange_credit == Decimal("22.00")
    returned_line = shipped_order.lines.get(sku="SKU-B")
    assert returned_line.credited_amount == Decimal("27.50")


def test_exchange_for_another_sku_defaults_to_the_returned_price(shipped_order, places):
    ret = submit(
        shipped_order, [exchange(shipped_order, "SKU-B", sku="SKU-C")], places["near"]
    )

    assert ret.total_credit_amount == Decimal("27.50")
    assert ret.total_refund_amount == 0
    assert ret.replacement_order.lines.get().sku == "SKU-C"


def test_dearer_replacement_authorizes_the_difference_on_the_original_payment(
    shipped_order, places, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ret = submit(
            shipped_order,
            [exchange(shipped_order, "SKU-A", sku="SKU-C", unit_price=Decimal("30"))],
            places["near"],
        )

    replacement = ret.replacement_order
    # SKU-A was 11.00 a unit; SKU-C at 30.00 + 10 % tax is 33.00.
    assert (replacement.total, replacement.exchange_credit) == (
        Decimal("33.00"),
        Decimal("11.00"),
    )
    assert ret.total_refund_amount == 0
    difference = account(replacement)
    assert difference.status == "authorized"
    assert difference.authorized_amount == Decimal("22.00")
    assert difference.payment_token == account(shipped_order).payment_token
    assert "22.00 USD more than the items returned" in str(ret.checks)


def test_dearer_replacement_declined_refuses_the_return_and_writes_nothing(
    shipped_order, places
):
    PaymentAccount.objects.filter(pk=account(shipped_order).pk).update(
        payment_token="tok_decline"
    )
    orders_before = Order.objects.count()

    with pytest.raises(ApplicationError) as refused:
        submit(
            shipped_order,
            [exchange(shipped_order, "SKU-A", sku="SKU-C", unit_price=Decimal("30"))],
            places["near"],
        )

    assert refused.value.code == "payment_declined"
    assert not Return.objects.exists()
    assert Order.objects.count() == orders_before
    assert shipped_order.lines.get(sku="SKU-A").quantity_returned == 0


def test_credit_from_the_whole_return_pays_a_dearer_replacement_before_refunding(
    shipped_order, places
):
    # SKU-B (27.50) comes back for nothing; SKU-A (11.00) for SKU-C at 30.00
    # (33.00): the return's 38.50 pays the 33.00 and 5.50 is refunded.
    ret = submit(
        shipped_order,
        [
            exchange(shipped_order, "SKU-A", sku="SKU-C", unit_price=Decimal("30")),
            item(shipped_order, "SKU-B"),
        ],
        places["near"],
    )

    assert ret.total_credit_amount == Decimal("33.00")
    assert ret.total_refund_amount == Decimal("5.50")
    assert account(ret.replacement_order) is None
    credits = {line.sku: line.credit_amount for line in ret.lines.all()}
    assert credits == {"SKU-A": Decimal("11.00"), "SKU-B": Decimal("22.00")}


def test_return_processed_names_the_replacement_and_the_credit(shipped_order, places):
    ret = submit(
        shipped_order, [exchange(shipped_order, "SKU-A", units=2)], places["near"]
    )

    payload = Event.objects.get(name="return.processed").payload
    assert payload["replacement_order_number"] == ret.replacement_order.number
    assert payload["total_credit_amount"] == "22.00"
    assert payload["total_refund_amount"] == "0.00"
    assert payload["lines"][0]["replacement"] == {
        "sku": "SKU-A",
        "quantity": 2,
        "unit_price": "10.00",
    }
    assert payload["lines"][0]["credit_amount"] == "22.00"


def test_replacement_order_is_opened_and_routed_like_any_order(
    shipped_order, places, put_stock, products, run_brokering
):
    ret = submit(shipped_order, [exchange(shipped_order, "SKU-B")], places["near"])
    replacement = ret.replacement_order
    put_stock(places["far"], products["SKU-B"], 1)

    Order.objects.filter(pk=replacement.pk).update(grace_period_ends_at=timezone.now())
    order_services.orders_open_due()
    replacement.refresh_from_db()
    assert (replacement.status, replacement.queue) == ("opened", "brokering")

    run_brokering()
    request = FulfillmentRequest.objects.get(order=replacement)
    fulfillment_request_accept(request=request, actor=None)
    fulfillment_request_ship(
        request=request, actor=None, carrier="DHL", tracking_number="T2"
    )
    replacement.refresh_from_db()
    assert replacement.status == "completed"
    assert Shipment.objects.get(request=request).amount_captured == 0


def test_replacement_asks_are_checked_item_by_item(shipped_order, places):
    with pytest.raises(ApplicationError) as refused:
        submit(
            shipped_order,
            [
                exchange(shipped_order, "SKU-A", sku="NOPE"),
                exchange(shipped_order, "SKU-B", units=1, quantity=2),
            ],
            places["near"],
        )

    assert refused.value.field_errors == {
        "items.0.replacement": ["Unknown or inactive replacement SKU 'NOPE'."],
        "items.1.replacement": ["Replace between one unit and the units returned."],
    }
    assert not Return.objects.exists()


def test_final_sale_line_is_not_returnable(ship_order, places):
    order = ship_order(
        lines=[
            LineInput(
                sku="SKU-A", quantity=2, unit_price=Decimal("10"), tax=Decimal("2")
            ),
            LineInput(
                sku="SKU-B",
                quantity=1,
                unit_price=Decimal("25"),
                tax=Decimal("2.5"),
                final_sale=True,
            ),
        ]
    )

    ret = submit(order, [item(order, "SKU-A"), item(order, "SKU-B")], places["near"])

    assert ret.status == "failed"
    failed = ret.failed_checks
    assert [(check["check"], check["subject"]) for check in failed] == [
        ("final_sale", "SKU-B")
    ]
    assert failed[0]["detail"] == "This item was sold as final sale: not returnable."
    assert order.lines.get(sku="SKU-A").quantity_returned == 0


def test_order_becomes_returned_with_its_last_unit_and_not_before(
    shipped_order, places
):
    submit(shipped_order, [item(shipped_order, "SKU-A", 2)], places["near"])
    shipped_order.refresh_from_db()
    assert shipped_order.status == "completed"
    assert not Event.objects.filter(name="order.returned").exists()

    submit(shipped_order, [item(shipped_order, "SKU-B")], places["near"])

    shipped_order.refresh_from_db()
    assert shipped_order.status == "returned"
    event = Event.objects.get(name="order.returned")
    assert event.payload["units_returned"] == 3
    logged = StateTransition.objects.filter(
        entity_type="order", entity_id=str(shipped_order.pk), target="returned"
    ).get()
    assert logged.source == "completed"


def test_cancelling_a_replacement_gives_the_credit_back_on_the_original_payment(
    shipped_order, places, django_capture_on_commit_callbacks
):
    ret = submit(
        shipped_order,
        [exchange(shipped_order, "SKU-A", sku="SKU-C", unit_price=Decimal("30"))],
        places["near"],
    )
    replacement = ret.replacement_order

    with django_capture_on_commit_callbacks(execute=True):
        order_services.order_cancel(
            order=replacement, actor=None, reason="Customer changed their mind"
        )

    # The 22.00 authorized for the difference is voided; the 11.00 of credit is
    # refunded where it was captured, on the original order's payment.
    assert account(replacement).voided_amount == Decimal("22.00")
    original = account(shipped_order)
    assert original.refunded_amount == Decimal("11.00")
    refund = PaymentTransaction.objects.get(account=original, kind="refund")
    assert refund.reference == replacement.number
    cancelled = Event.objects.get(name="order.cancelled").payload
    assert Decimal(cancelled["amount_voided"]) == Decimal("22.00")
    assert Decimal(cancelled["amount_refunded"]) == Decimal("11.00")


def test_the_lines_of_a_replacement_cannot_be_edited(shipped_order, places):
    from oms.errors import Conflict

    ret = submit(shipped_order, [exchange(shipped_order, "SKU-A")], places["near"])

    with pytest.raises(Conflict):
        order_services.order_update(
            order=ret.replacement_order,
            actor=None,
            lines=[LineInput(sku="SKU-D", quantity=1, unit_price=Decimal("1"))],
        )


def test_a_held_replacement_whose_own_part_was_cancelled_is_approved_on_recheck(
    shipped_order, places, channel, django_capture_on_commit_callbacks
):
    """A replacement above the value limit (44.00: 22.00 credit, 22.00 its own
    payment) loses one unit: its own payment goes back first, all of it, and the
    credit pays what is left; nothing about payment holds it any more."""
    channel.order_value_limit = Decimal("30.00")
    channel.save()
    with django_capture_on_commit_callbacks(execute=True):
        ret = submit(
            shipped_order,
            [exchange(shipped_order, "SKU-A", 2, sku="SKU-C", quantity=2,
                      unit_price=Decimal("20.00"))],
            places["near"],
        )  # fmt: skip
    replacement = ret.replacement_order
    Order.objects.filter(pk=replacement.pk).update(grace_period_ends_at=timezone.now())
    order_services.order_open(order_id=replacement.pk)
    replacement.refresh_from_db()
    assert replacement.hold_reasons == ["Order value 44.00 is above the limit 30.00."]
    [line] = replacement.lines.all()

    order_services.order_lines_cancel(
        order=replacement, quantities={line.pk: 1}, actor=None, reason="Over limit"
    )

    assert account(replacement).status == "voided"
    assert recheck_held_orders.delay().get() == 1
    replacement.refresh_from_db()
    assert (replacement.status, replacement.hold_reasons) == ("opened", [])
