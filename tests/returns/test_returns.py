"""Returns through the service: checks, money, stock, shipping refund, retries."""

from decimal import Decimal

import pytest

from inventory.models import InventoryTransaction, StockLevel
from oms.errors import ApplicationError, PermissionDenied
from oms.models import Event
from orders.services import channel_create
from payments.models import PaymentTransaction
from returns.models import Return
from returns.selectors import return_refund_transactions
from returns.services import (
    ReturnItemInput,
    return_create,
    return_retry,
    return_window_set,
)
from tests.returns.conftest import item

pytestmark = pytest.mark.django_db


def account_of(order):
    from orders.services import order_account

    return order_account(order)


def submit(order, items, *, location, actor=None, **kwargs):
    ret, _ = return_create(
        order=order, items=items, location=location, actor=actor, **kwargs
    )
    return ret


def test_partial_return_refunds_the_items_and_restocks_them(
    shipped_order, places, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ret = submit(
            shipped_order, [item(shipped_order, "SKU-A")], location=places["near"]
        )

    assert ret.status == "processed"
    assert ret.rma_number.startswith("RMA-")
    assert ret.total_refund_amount == Decimal("11.00")
    assert [line.line_type for line in ret.lines.all()] == ["item"]
    assert account_of(shipped_order).refunded_amount == Decimal("11.00")
    line = shipped_order.lines.get(sku="SKU-A")
    assert (line.quantity_fulfilled, line.quantity_returned) == (1, 1)
    event = Event.objects.get(name="return.processed")
    assert event.payload["total_refund_amount"] == "11.00"
    assert event.payload["lines"][0]["sku"] == "SKU-A"
    assert Event.objects.filter(name="payment_account.amount_refunded").exists()
    ledger = InventoryTransaction.objects.get(
        type=InventoryTransaction.Type.RETURN_RESTOCK
    )
    assert (ledger.location, ledger.quantity, ledger.reference) == (
        places["near"],
        1,
        ret.rma_number,
    )
    shipped_order.refresh_from_db()
    assert shipped_order.status == "completed"


def test_damaged_items_are_recorded_but_not_restocked(shipped_order, places, products):
    on_hand_before = StockLevel.objects.get(
        location=places["near"], product=products["SKU-B"]
    ).on_hand
    ret = submit(
        shipped_order,
        [item(shipped_order, "SKU-B", condition="damaged", reason="damaged")],
        location=places["near"],
    )

    assert ret.status == "processed"
    assert ret.lines.get().restocked is False
    assert not InventoryTransaction.objects.filter(
        type=InventoryTransaction.Type.RETURN_RESTOCK
    ).exists()
    assert (
        StockLevel.objects.get(
            location=places["near"], product=products["SKU-B"]
        ).on_hand
        == on_hand_before
    )


def test_over_return_fails_and_moves_nothing(shipped_order, places):
    submit(shipped_order, [item(shipped_order, "SKU-B")], location=places["near"])

    again = submit(
        shipped_order, [item(shipped_order, "SKU-B")], location=places["near"]
    )

    assert again.status == "failed"
    assert [c["check"] for c in again.failed_checks] == ["quantity"]
    assert "0 shipped and not yet returned" in again.failed_checks[0]["detail"]
    assert again.total_refund_amount == 0
    assert shipped_order.lines.get(sku="SKU-B").quantity_returned == 1
    assert PaymentTransaction.objects.filter(kind="refund").count() == 1
    assert Event.objects.filter(name="return.failed").count() == 1


def test_shipping_is_refunded_with_the_last_item_only_once(
    shipped_order, places, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = submit(
            shipped_order,
            [item(shipped_order, "SKU-A", 2)],
            location=places["near"],
        )
        last = submit(
            shipped_order, [item(shipped_order, "SKU-B")], location=places["near"]
        )

    assert [line.line_type for line in first.lines.all()] == ["item"]
    assert first.total_refund_amount == Decimal("22.00")
    assert [line.line_type for line in last.lines.all()] == ["item", "shipping"]
    assert last.lines.get(line_type="shipping").refund_amount == Decimal("5.50")
    assert last.total_refund_amount == Decimal("33.00")
    assert account_of(shipped_order).refunded_amount == Decimal("55.00")
    shipped_order.refresh_from_db()
    assert shipped_order.shipping_credited == Decimal("5.50")
    assert shipped_order.status == "returned"
    event = Event.objects.get(name="return.processed", entity_id=str(last.pk))
    assert event.payload["lines"][-1] == {
        "type": "shipping",
        "order_line_id": None,
        "sku": None,
        "quantity": 0,
        "reason": None,
        "condition": None,
        "refund_amount": "5.50",
        "credit_amount": "0.00",
        "restocked": False,
        "replacement": None,
    }


def test_shipping_is_not_refunded_when_the_channel_says_so(ship_order, places):
    channel_create(code="outlet", name="Outlet", refund_shipping_on_last_return=False)
    shipped_order = ship_order(channel="outlet")
    ret = submit(
        shipped_order,
        [item(shipped_order, "SKU-A", 2), item(shipped_order, "SKU-B")],
        location=places["near"],
    )

    assert ret.total_refund_amount == Decimal("49.50")
    assert not ret.lines.filter(line_type="shipping").exists()


def test_expired_window_fails_then_a_csr_extends_it_and_retries(
    ship_order, places, make_user, django_capture_on_commit_callbacks
):
    channel_create(code="strict", name="Strict", return_window_days=0)
    order = ship_order(channel="strict")
    csr = make_user("csr")

    ret = submit(order, [item(order, "SKU-A")], location=places["near"], actor=csr)

    assert ret.status == "failed"
    assert [c["check"] for c in ret.failed_checks] == ["window"]
    assert account_of(order).refunded_amount == 0
    with pytest.raises(ApplicationError) as refused:
        return_retry(return_request=ret, actor=csr, window_extension_days=5)
    assert "comment" in refused.value.field_errors

    with django_capture_on_commit_callbacks(execute=True):
        ret = return_retry(
            return_request=ret,
            actor=csr,
            window_extension_days=5,
            comment="Customer was abroad",
        )

    assert ret.status == "processed"
    assert ret.window_extension_days == 5
    assert "Customer was abroad" in ret.correction_comment
    assert account_of(order).refunded_amount == Decimal("11.00")


def test_retrying_a_processed_return_is_refused(shipped_order, places):
    from django_fsm import TransitionNotAllowed

    ret = submit(shipped_order, [item(shipped_order, "SKU-A")], location=places["near"])

    with pytest.raises(TransitionNotAllowed):
        return_retry(return_request=ret, actor=None)


def test_final_sale_orders_are_not_returnable(ship_order, places):
    order = ship_order(tags=["final_sale"])

    ret = submit(order, [item(order, "SKU-A")], location=places["near"])

    assert ret.status == "failed"
    assert [c["check"] for c in ret.failed_checks] == ["final_sale"]


def test_blind_return_records_the_refund_due_from_the_external_system(
    channel, products, places
):
    ret, created = return_create(
        channel=channel,
        external_order_id="SHOPIFY-991",
        external_return_id="R-1",
        currency="USD",
        location=places["near"],
        actor=None,
        items=[
            ReturnItemInput(
                sku="SKU-C",
                quantity=2,
                unit_price=Decimal("7.25"),
                reason="changed_mind",
                condition="resellable",
            )
        ],
    )
    again, created_again = return_create(
        channel=channel,
        external_order_id="SHOPIFY-991",
        external_return_id="R-1",
        currency="USD",
        location=places["near"],
        actor=None,
        items=[],
    )

    assert (created, created_again, again.pk) == (True, False, ret.pk)
    assert ret.status == "processed"
    assert ret.total_refund_amount == Decimal("14.50")
    assert ret.checks[0]["detail"].startswith("14.50 USD from the prices given")
    payload = Event.objects.get(name="return.processed").payload
    assert payload["external_order_id"] == "SHOPIFY-991"
    assert payload["order_number"] is None
    assert payload["refund_due_from_external_system"] is True
    assert not PaymentTransaction.objects.filter(kind="refund").exists()
    assert (
        InventoryTransaction.objects.get(
            type=InventoryTransaction.Type.RETURN_RESTOCK
        ).quantity
        == 2
    )


def test_refund_failure_shows_on_the_return_then_a_retry_succeeds(
    ship_order, places, django_capture_on_commit_callbacks, settings
):
    from payments.services import payment_transaction_retry

    order = ship_order(payment_token="tok_refund_fail")
    with django_capture_on_commit_callbacks(execute=True):
        ret = submit(order, [item(order, "SKU-A")], location=places["near"])

    assert ret.status == "processed"
    (refund,) = return_refund_transactions(return_request=ret)
    assert refund.status == "failed"
    account = account_of(order)
    assert account.refunded_amount == 0
    # The provider is fixed (the card issuer took the refund): retry by hand.
    account.payment_token = "tok_approve"
    account.save(update_fields=["payment_token"])
    payment_transaction_retry(transaction=refund)

    (refund,) = return_refund_transactions(return_request=ret)
    assert refund.status == "succeeded"
    assert account_of(order).refunded_amount == Decimal("11.00")


def test_bad_items_are_refused_with_field_errors_and_nothing_written(
    shipped_order, places
):
    before = (Return.objects.count(), Event.objects.count())
    with pytest.raises(ApplicationError) as refused:
        submit(
            shipped_order,
            [
                ReturnItemInput(
                    order_line_id=999999,
                    quantity=1,
                    reason="size",
                    condition="resellable",
                ),
                ReturnItemInput(
                    order_line_id=shipped_order.lines.first().pk,
                    quantity=0,
                    reason="nope",
                    condition="broken",
                ),
            ],
            location=places["near"],
        )

    assert set(refused.value.field_errors) == {"items.0", "items.1"}
    assert len(refused.value.field_errors["items.1"]) == 3
    assert (Return.objects.count(), Event.objects.count()) == before


def test_a_store_associate_receives_only_at_their_store(
    shipped_order, places, associate
):
    with pytest.raises(PermissionDenied):
        submit(
            shipped_order,
            [item(shipped_order, "SKU-A")],
            location=places["far"],
            actor=associate,
        )
    assert not Return.objects.exists()


def test_an_order_type_may_have_its_own_return_window(
    shipped_order, places, django_capture_on_commit_callbacks
):
    return_window_set(channel=shipped_order.channel, order_type="standard", days=0)
    ret = submit(shipped_order, [item(shipped_order, "SKU-A")], location=places["near"])
    assert [c["check"] for c in ret.failed_checks] == ["window"]
    assert "(0 days)" in ret.failed_checks[0]["detail"]

    return_window_set(channel=shipped_order.channel, order_type="standard", days=None)
    with django_capture_on_commit_callbacks(execute=True):
        ret = return_retry(return_request=ret, actor=None)

    assert ret.status == "processed"
    with pytest.raises(ApplicationError) as refused:
        return_window_set(channel=shipped_order.channel, order_type="gift", days=-1)
    assert set(refused.value.field_errors) == {"order_type", "days"}
