"""Receiving against ASNs and purchase orders."""

import pytest
from django_fsm import TransitionNotAllowed

from inventory import services
from inventory.errors import OverReceipt, UnknownItem
from inventory.models import Asn, InventoryTransaction, Receipt, StockLevel
from oms.models import Event

pytestmark = pytest.mark.django_db

Item = services.ItemQuantity


def on_hand(location, product) -> int:
    level = StockLevel.objects.filter(location=location, product=product).first()
    return level.on_hand if level else 0


def receive_asn(asn, *items, allow_over_receipt=False):
    return services.items_receive(
        location=asn.location,
        reference_type=Receipt.ReferenceType.ASN,
        reference=asn.number,
        items=list(items),
        allow_over_receipt=allow_over_receipt,
    )


def test_receiving_a_purchase_order_raises_on_hand_and_records_the_event(
    dc, product, receive
):
    receipt = receive(dc, product, 12, reference="PO-77")

    assert on_hand(dc, product) == 12
    row = InventoryTransaction.objects.get()
    assert (row.type, row.quantity, row.reference) == (
        "receipt",
        12,
        "purchase_order:PO-77",
    )
    event = Event.objects.get(name="inventory_transaction.items_received")
    assert event.entity_id == str(receipt.pk)
    assert event.payload["items"] == [{"sku": product.sku, "quantity": 12}]


def test_partial_then_full_receipt_closes_the_asn_automatically(dc, make_product):
    shirt, cap = make_product(), make_product()
    asn = services.asn_create(location=dc, items=[Item(shirt, 10), Item(cap, 5)])
    assert asn.number.startswith("ASN-")

    receive_asn(asn, Item(shirt, 4))
    asn.refresh_from_db()
    assert asn.status == Asn.Status.OPEN

    receive_asn(asn, Item(shirt, 6), Item(cap, 5))
    asn.refresh_from_db()

    assert asn.status == Asn.Status.CLOSED
    assert (on_hand(dc, shirt), on_hand(dc, cap)) == (10, 5)
    names = list(Event.objects.values_list("name", flat=True).order_by("id"))
    assert names.count("inventory_transaction.items_received") == 2
    assert names[0] == "inventory_transaction.asn_created"
    assert names[-1] == "inventory_transaction.asn_closed"


def test_without_auto_close_a_full_asn_waits_in_received(dc, product):
    asn = services.asn_create(location=dc, items=[Item(product, 3)], auto_close=False)
    receive_asn(asn, Item(product, 3))
    asn.refresh_from_db()
    assert asn.status == Asn.Status.RECEIVED

    services.asn_close(asn=asn)
    asn.refresh_from_db()
    assert asn.status == Asn.Status.CLOSED


def test_over_receipt_is_refused_unless_allowed(dc, product):
    asn = services.asn_create(location=dc, items=[Item(product, 3)])

    with pytest.raises(OverReceipt):
        receive_asn(asn, Item(product, 4))
    assert on_hand(dc, product) == 0
    assert not Receipt.objects.exists()

    receipt = receive_asn(asn, Item(product, 4), allow_over_receipt=True)

    assert receipt.over_receipt is True
    assert on_hand(dc, product) == 4
    assert asn.lines.get().received_quantity == 4


def test_a_product_not_on_the_asn_is_refused(dc, product, make_product):
    asn = services.asn_create(location=dc, items=[Item(product, 3)])
    with pytest.raises(UnknownItem):
        receive_asn(asn, Item(make_product(), 1), allow_over_receipt=True)
    assert not InventoryTransaction.objects.exists()


def test_closing_a_partly_received_asn_then_again_is_a_conflict(dc, product):
    asn = services.asn_create(location=dc, items=[Item(product, 10)])
    receive_asn(asn, Item(product, 2))

    services.asn_close(asn=asn, reason="supplier short-shipped")
    with pytest.raises(TransitionNotAllowed):
        services.asn_close(asn=asn)

    closed = Event.objects.get(name="inventory_transaction.asn_closed")
    assert closed.payload["fully_received"] is False
    assert closed.payload["lines"] == [
        {"sku": product.sku, "expected": 10, "received": 2}
    ]
    with pytest.raises(Exception) as refused:
        receive_asn(asn, Item(product, 1))
    assert refused.value.code == "asn_not_open"


def test_an_asn_for_an_inactive_location_is_refused(make_location, product):
    closed_store = make_location(active=False)
    with pytest.raises(Exception) as refused:
        services.asn_create(location=closed_store, items=[Item(product, 1)])
    assert refused.value.code == "location_inactive"
    assert not Asn.objects.exists()
