"""Transfer orders: reserve at the origin, ship, receive, close (also partly)."""

import pytest
from django_fsm import TransitionNotAllowed

from inventory import selectors, services
from inventory.models import Asn, StockLevel, TransferOrder
from oms.models import Event

pytestmark = pytest.mark.django_db

Item = services.ItemQuantity


def stock(location, product) -> tuple[int, int]:
    level = StockLevel.objects.filter(location=location, product=product).first()
    return (level.on_hand, level.reserved) if level else (0, 0)


def test_creating_reserves_what_the_origin_has(dc, store, product, receive):
    receive(dc, product, 9)

    transfer_order = services.transfer_order_create(
        origin=dc, destination=store, items=[Item(product, 10)]
    )

    assert transfer_order.number.startswith("TO-")
    assert stock(dc, product) == (9, 9)
    created = Event.objects.get(name="inventory_transaction.transfer_order_created")
    assert created.payload["items"] == [
        {"sku": product.sku, "requested": 10, "reserved": 9}
    ]


def test_ten_requested_nine_available_ship_nine_receive_and_close_with_one_cancelled(
    dc, store, product, receive
):
    receive(dc, product, 9)
    transfer_order = services.transfer_order_create(
        origin=dc, destination=store, items=[Item(product, 10)]
    )

    services.transfer_order_ship(
        transfer_order=transfer_order, carrier="DHL", tracking_number="123"
    )
    assert stock(dc, product) == (0, 0)
    handover = Event.objects.get(name="inventory_transaction.items_ready_for_handover")
    assert handover.payload["items"] == [{"sku": product.sku, "quantity": 9}]
    assert not Asn.objects.exists()

    services.transfer_order_receive(transfer_order=transfer_order)
    transfer_order.refresh_from_db()
    assert transfer_order.status == TransferOrder.Status.RECEIVED
    assert stock(store, product) == (9, 0)

    services.transfer_order_close(transfer_order=transfer_order, reason="short")

    transfer_order.refresh_from_db()
    line = transfer_order.lines.get()
    assert transfer_order.status == TransferOrder.Status.CLOSED
    assert (line.requested_quantity, line.shipped_quantity) == (10, 9)
    assert (line.received_quantity, line.cancelled_quantity) == (9, 1)
    closed = Event.objects.get(name="inventory_transaction.transfer_order_closed")
    assert closed.payload["lines"][0]["cancelled"] == 1
    assert selectors.stock_ledger_mismatches() == []


def test_shipping_without_a_carrier_announces_an_asn_at_the_destination(
    dc, store, product, receive
):
    receive(dc, product, 5)
    transfer_order = services.transfer_order_create(
        origin=dc, destination=store, items=[Item(product, 5)]
    )

    services.transfer_order_ship(transfer_order=transfer_order)

    asn = Asn.objects.get(transfer_order=transfer_order)
    assert asn.location == store
    assert Event.objects.filter(name="inventory_transaction.asn_created").exists()
    services.items_receive(
        location=store,
        reference_type="asn",
        reference=asn.number,
        items=[Item(product, 2)],
    )
    transfer_order.refresh_from_db()
    assert transfer_order.status == TransferOrder.Status.PARTIALLY_RECEIVED
    services.transfer_order_receive(transfer_order=transfer_order)
    transfer_order.refresh_from_db()
    asn.refresh_from_db()
    assert transfer_order.status == TransferOrder.Status.RECEIVED
    assert asn.status == Asn.Status.CLOSED
    assert stock(store, product) == (5, 0)
    assert [row.type for row in selectors.ledger_list(location_code=store.code)] == [
        "transfer_in",
        "transfer_in",
    ]


def test_closing_an_open_transfer_order_releases_the_reservation(
    dc, store, product, receive
):
    receive(dc, product, 6)
    transfer_order = services.transfer_order_create(
        origin=dc, destination=store, items=[Item(product, 4)]
    )
    assert selectors.stock_available(product_ids=[product.pk])[(dc.pk, product.pk)] == 2

    services.transfer_order_close(transfer_order=transfer_order)

    assert selectors.stock_available(product_ids=[product.pk])[(dc.pk, product.pk)] == 6
    assert transfer_order.lines.get().cancelled_quantity == 4
    with pytest.raises(TransitionNotAllowed):
        services.transfer_order_close(transfer_order=transfer_order)


def test_closing_with_units_in_transit_books_them_as_not_received(
    dc, store, product, receive
):
    receive(dc, product, 5)
    transfer_order = services.transfer_order_create(
        origin=dc, destination=store, items=[Item(product, 5)]
    )
    services.transfer_order_ship(transfer_order=transfer_order)
    services.transfer_order_receive(
        transfer_order=transfer_order, items=[Item(product, 3)]
    )

    preview = selectors.transfer_order_close_preview(transfer_order=transfer_order)
    assert (preview[0]["cancel"], preview[0]["not_received"]) == (0, 2)
    services.transfer_order_close(transfer_order=transfer_order)

    closed = Event.objects.get(name="inventory_transaction.transfer_order_closed")
    assert closed.payload["lines"][0]["not_received"] == 2
    assert stock(dc, product) == (0, 0)
    assert stock(store, product) == (3, 0)
    assert Asn.objects.get(transfer_order=transfer_order).status == Asn.Status.CLOSED


def test_receiving_more_than_shipped_or_before_shipping_is_refused(
    dc, store, product, receive
):
    receive(dc, product, 5)
    transfer_order = services.transfer_order_create(
        origin=dc, destination=store, items=[Item(product, 5)]
    )
    with pytest.raises(Exception) as early:
        services.transfer_order_receive(
            transfer_order=transfer_order, items=[Item(product, 1)]
        )
    assert early.value.code == "transfer_order_not_in_transit"

    services.transfer_order_ship(
        transfer_order=transfer_order, quantities={product.pk: 3}
    )
    with pytest.raises(Exception) as over:
        services.transfer_order_receive(
            transfer_order=transfer_order, items=[Item(product, 4)]
        )
    assert over.value.code == "over_receipt"
    assert stock(store, product) == (0, 0)
    assert stock(dc, product) == (2, 0)


def test_same_origin_and_destination_is_refused(dc, product):
    with pytest.raises(Exception) as refused:
        services.transfer_order_create(
            origin=dc, destination=dc, items=[Item(product, 1)]
        )
    assert refused.value.code == "same_location"
    assert not TransferOrder.objects.exists()


def test_nothing_to_ship_is_refused_and_changes_nothing(dc, store, product):
    transfer_order = services.transfer_order_create(
        origin=dc, destination=store, items=[Item(product, 2)]
    )
    with pytest.raises(Exception) as refused:
        services.transfer_order_ship(transfer_order=transfer_order)
    assert refused.value.code == "insufficient_stock"
    transfer_order.refresh_from_db()
    assert transfer_order.status == TransferOrder.Status.OPEN
