"""Cycle counts: submit, review discrepancies, approve or recount."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from inventory import selectors, services
from inventory.models import CycleCount, InventoryTransaction, StockLevel
from oms.models import Event

pytestmark = pytest.mark.django_db


def on_hand(location, product) -> int:
    return StockLevel.objects.get(location=location, product=product).on_hand


def test_submitted_count_shows_discrepancies_and_approval_posts_them(
    store, make_product, receive
):
    shirt, cap = make_product(), make_product()
    receive(store, shirt, 10)
    receive(store, cap, 4)
    count = services.cycle_count_create(location=store, products=[shirt, cap])

    services.cycle_count_submit(cycle_count=count, counts={shirt.pk: 8, cap.pk: 4})

    count.refresh_from_db()
    assert count.status == CycleCount.Status.COUNTED
    lines = {line.product_id: line for line in count.lines.all()}
    assert (lines[shirt.pk].expected_quantity, lines[shirt.pk].discrepancy) == (10, -2)
    assert lines[cap.pk].discrepancy == 0
    counted = Event.objects.get(name="inventory_count.items_counted")
    assert counted.entity_type == "inventory_count"

    services.cycle_count_approve(cycle_count=count)

    assert (on_hand(store, shirt), on_hand(store, cap)) == (8, 4)
    row = InventoryTransaction.objects.get(type="count_adjustment")
    assert (row.quantity, row.reference) == (-2, f"cycle_count:{count.pk}")
    assert selectors.stock_ledger_mismatches() == []


def test_a_sale_between_submit_and_approval_is_not_lost(store, product, receive):
    receive(store, product, 10)
    count = services.cycle_count_create(location=store, products=[product])
    services.cycle_count_submit(cycle_count=count, counts={product.pk: 9})

    services.stock_ship_unreserved(
        location=store, product=product, quantity=3, reference="pos:1"
    )
    services.cycle_count_approve(cycle_count=count)

    # 9 counted, 3 sold afterwards: 6 on the shelf, not 9.
    assert on_hand(store, product) == 6


def test_a_sale_after_the_shelf_was_counted_is_not_a_discrepancy(
    store, product, receive
):
    receive(store, product, 10)
    count = services.cycle_count_create(location=store, products=[product])
    counted_at = timezone.now()
    services.stock_ship_unreserved(
        location=store, product=product, quantity=2, reference="pos:2"
    )

    services.cycle_count_submit(
        cycle_count=count, counts={product.pk: 10}, counted_at=counted_at
    )

    line = count.lines.get()
    assert (line.expected_quantity, line.discrepancy) == (10, 0)


def test_reject_changes_nothing_and_opens_a_recount(store, product, receive):
    receive(store, product, 5)
    count = services.cycle_count_create(location=store, products=[product])
    services.cycle_count_submit(cycle_count=count, counts={product.pk: 1})

    recount = services.cycle_count_reject(cycle_count=count, reason="recount aisle 3")

    count.refresh_from_db()
    assert count.status == CycleCount.Status.REJECTED
    assert recount.status == CycleCount.Status.OPEN
    assert recount.recount_of == count
    assert list(recount.lines.values_list("product_id", flat=True)) == [product.pk]
    assert on_hand(store, product) == 5
    with pytest.raises(TransitionNotAllowed):
        services.cycle_count_approve(cycle_count=count)


def test_every_line_must_be_counted(store, make_product):
    shirt, cap = make_product(), make_product()
    count = services.cycle_count_create(location=store, products=[shirt, cap])
    with pytest.raises(Exception) as refused:
        services.cycle_count_submit(cycle_count=count, counts={shirt.pk: 1})
    assert refused.value.code == "invalid_count"
    count.refresh_from_db()
    assert count.status == CycleCount.Status.OPEN


def test_a_count_time_in_the_future_is_refused(store, product):
    count = services.cycle_count_create(location=store, products=[product])
    with pytest.raises(Exception) as refused:
        services.cycle_count_submit(
            cycle_count=count,
            counts={product.pk: 1},
            counted_at=timezone.now() + timedelta(hours=1),
        )
    assert refused.value.code == "invalid_count"


def test_a_count_for_an_inactive_location_is_refused(make_location, product):
    closed = make_location(active=False)
    with pytest.raises(Exception) as refused:
        services.cycle_count_create(location=closed, products=[product])
    assert refused.value.code == "location_inactive"
    assert not CycleCount.objects.exists()


def test_approval_that_would_drop_below_reserved_units_is_refused(
    store, product, receive
):
    receive(store, product, 5)
    services.reservation_create(
        location=store, product=product, quantity=4, owner_type="o", owner_id="1"
    )
    count = services.cycle_count_create(location=store, products=[product])
    services.cycle_count_submit(cycle_count=count, counts={product.pk: 2})

    with pytest.raises(Exception) as refused:
        services.cycle_count_approve(cycle_count=count)

    assert refused.value.code == "reserved_exceeds_on_hand"
    count.refresh_from_db()
    assert count.status == CycleCount.Status.COUNTED
    assert on_hand(store, product) == 5
