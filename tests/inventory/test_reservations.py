"""Reservations: exact, partial, never oversold."""

import threading

import pytest
from django.db import close_old_connections, connection

from inventory import selectors, services
from inventory.errors import InsufficientReservation, InsufficientStock
from inventory.models import InventoryTransaction, StockLevel

pytestmark = pytest.mark.django_db


def level(location, product) -> StockLevel:
    return StockLevel.objects.select_related("location").get(
        location=location, product=product
    )


def test_reserving_lowers_available_but_not_on_hand(store, product, receive):
    receive(store, product, 10)

    services.reservation_create(
        location=store,
        product=product,
        quantity=4,
        owner_type="order_line",
        owner_id="1",
    )

    stock = level(store, product)
    assert (stock.on_hand, stock.reserved, stock.available) == (10, 4, 6)


def test_reserving_more_than_available_is_refused_and_writes_nothing(
    store, product, receive
):
    receive(store, product, 3)

    with pytest.raises(InsufficientStock) as refused:
        services.reservation_create(
            location=store, product=product, quantity=4, owner_type="o", owner_id="1"
        )

    assert refused.value.extra == {"available": 3, "requested": 4}
    assert level(store, product).reserved == 0
    assert not selectors.reservations_for_owner(owner_type="o", owner_id="1").exists()


def test_safety_stock_is_kept_back_unless_overridden(make_location, product, receive):
    store = make_location("S-SAFE", safety_stock=2)
    receive(store, product, 5)

    with pytest.raises(InsufficientStock):
        services.reservation_create(
            location=store, product=product, quantity=4, owner_type="o", owner_id="1"
        )
    services.reservation_create(
        location=store,
        product=product,
        quantity=4,
        owner_type="o",
        owner_id="1",
        safety_stock=0,
    )

    assert level(store, product).reserved == 4
    assert selectors.stock_available(product_ids=[product.pk]) == {
        (store.pk, product.pk): 0
    }
    assert selectors.stock_available(
        product_ids=[product.pk], safety_stock_override=0
    ) == {(store.pk, product.pk): 1}


def test_no_stock_level_means_nothing_to_reserve(store, product):
    with pytest.raises(InsufficientStock):
        services.reservation_create(
            location=store, product=product, quantity=1, owner_type="o", owner_id="1"
        )


@pytest.mark.parametrize("quantity", [0, -1, 1.5, True])
def test_quantities_must_be_positive_whole_numbers(store, product, receive, quantity):
    receive(store, product, 5)
    with pytest.raises(Exception) as refused:
        services.reservation_create(
            location=store,
            product=product,
            quantity=quantity,
            owner_type="o",
            owner_id="1",
        )
    assert refused.value.code == "invalid_quantity"


def test_partial_release_then_release_all(store, product, receive):
    receive(store, product, 10)
    for _ in range(2):
        services.reservation_create(
            location=store, product=product, quantity=3, owner_type="o", owner_id="7"
        )

    released = services.reservations_release(owner_type="o", owner_id="7", quantity=4)

    assert released == 4
    assert level(store, product).reserved == 2
    assert [
        r.quantity
        for r in selectors.reservations_for_owner(owner_type="o", owner_id="7")
    ] == [2]
    assert services.reservations_release(owner_type="o", owner_id="7") == 2
    assert services.reservations_release(owner_type="o", owner_id="7") == 0
    assert level(store, product).reserved == 0


def test_consume_ships_reserved_units_with_a_ledger_row(store, product, receive):
    receive(store, product, 10)
    services.reservation_create(
        location=store, product=product, quantity=5, owner_type="o", owner_id="9"
    )

    row = services.reservation_consume(
        owner_type="o",
        owner_id="9",
        location=store,
        product=product,
        quantity=3,
        reference="order:9",
    )

    stock = level(store, product)
    assert (stock.on_hand, stock.reserved) == (7, 2)
    assert (row.type, row.quantity, row.on_hand_after) == ("shipment", -3, 7)
    with pytest.raises(InsufficientReservation):
        services.reservation_consume(
            owner_type="o",
            owner_id="9",
            location=store,
            product=product,
            quantity=3,
            reference="order:9",
        )
    assert selectors.stock_ledger_mismatches() == []


def test_pos_sale_takes_only_unreserved_units(make_location, product, receive):
    store = make_location("S-POS", safety_stock=1)
    receive(store, product, 5)
    services.reservation_create(
        location=store, product=product, quantity=2, owner_type="o", owner_id="1"
    )

    services.stock_ship_unreserved(
        location=store, product=product, quantity=2, reference="pos:1"
    )
    with pytest.raises(InsufficientStock):
        services.stock_ship_unreserved(
            location=store, product=product, quantity=1, reference="pos:2"
        )

    stock = level(store, product)
    assert (stock.on_hand, stock.reserved) == (3, 2)


def test_return_restock_puts_units_back(store, product):
    row = services.stock_restock_return(
        location=store, product=product, quantity=2, reference="return:1"
    )
    assert row.type == InventoryTransaction.Type.RETURN_RESTOCK
    assert level(store, product).on_hand == 2
    assert selectors.stock_ledger_mismatches() == []


def test_inactive_location_takes_no_reservation(make_location, product, receive):
    store = make_location("S-OLD")
    receive(store, product, 5)
    store.active = False
    store.save()
    with pytest.raises(Exception) as refused:
        services.reservation_create(
            location=store, product=product, quantity=1, owner_type="o", owner_id="1"
        )
    assert refused.value.code == "location_inactive"


def test_stock_available_is_one_query(
    store, dc, make_product, receive, django_assert_num_queries
):
    products = [make_product() for _ in range(5)]
    for product in products:
        receive(store, product, 3)
        receive(dc, product, 7)

    with django_assert_num_queries(1):
        available = selectors.stock_available(
            product_ids=[p.pk for p in products], location_ids=[store.pk, dc.pk]
        )

    assert available[(dc.pk, products[0].pk)] == 7
    assert len(available) == 10
    with django_assert_num_queries(1):
        found = selectors.products_by_sku(skus=[products[0].sku, "NOPE"])
    assert list(found) == [products[0].sku]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_fifty_threads_racing_for_the_last_ten_units_get_exactly_ten(
    store, product, receive
):
    if connection.vendor != "postgresql":
        pytest.skip("row locking is what this proves; PostgreSQL only")
    receive(store, product, 10)
    barrier = threading.Barrier(50)
    outcomes: list[str] = []
    lock = threading.Lock()

    def buyer(n: int) -> None:
        try:
            barrier.wait()
            services.reservation_create(
                location=store,
                product=product,
                quantity=1,
                owner_type="order",
                owner_id=str(n),
            )
            result = "ok"
        except InsufficientStock:
            result = "refused"
        finally:
            close_old_connections()
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=buyer, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("ok") == 10
    assert outcomes.count("refused") == 40
    stock = level(store, product)
    assert (stock.on_hand, stock.reserved, stock.available) == (10, 10, 0)
    assert selectors.stock_ledger_mismatches() == []


def test_store_associates_see_their_locations_and_managers_all(make_user, store, dc):
    associate, manager = make_user("store_associate"), make_user("inventory_manager")
    services.location_assign_staff(user=associate, location=store)
    services.location_assign_staff(user=associate, location=store)

    assert list(selectors.locations_for_user(user=associate)) == [store]
    assert set(selectors.locations_for_user(user=manager)) == {store, dc}
    services.location_unassign_staff(user=associate, location=store)
    assert not selectors.locations_for_user(user=associate).exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_reserve_consume_release_and_receipts_keep_the_books_exact(
    store, product, receive
):
    if connection.vendor != "postgresql":
        pytest.skip("row locking is what this proves; PostgreSQL only")
    receive(store, product, 40)
    barrier = threading.Barrier(12)
    errors: list[Exception] = []

    def customer(n: int) -> None:
        try:
            barrier.wait()
            for round_ in range(5):
                owner = f"{n}-{round_}"
                try:
                    services.reservation_create(
                        location=store,
                        product=product,
                        quantity=2,
                        owner_type="order",
                        owner_id=owner,
                    )
                except InsufficientStock:
                    continue
                if n % 2:
                    services.reservation_consume(
                        owner_type="order",
                        owner_id=owner,
                        location=store,
                        product=product,
                        quantity=1,
                        reference=owner,
                    )
                services.reservations_release(owner_type="order", owner_id=owner)
                if n % 3 == 0:
                    receive(store, product, 1, reference=f"PO-{owner}")
        except Exception as exc:  # a deadlock or any other failure fails the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=customer, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    stock = level(store, product)
    assert stock.reserved == 0
    assert stock.on_hand == 40 + 4 * 5 - 6 * 5
    assert selectors.stock_ledger_mismatches() == []


def test_bulk_reservations_never_exceed_available_units(
    store, dc, make_product, receive
):
    shirt, cap = make_product(), make_product()
    receive(store, shirt, 3)
    receive(dc, cap, 5)
    request = services.ReservationRequest

    outcome = services.reservations_create_bulk(
        owner_type="order_line",
        requests=[
            request(store.pk, shirt.pk, 4, "1", 0),
            request(dc.pk, cap.pk, 4, "2", 1),
        ],
    )

    assert outcome == [False, True]
    assert level(store, shirt).reserved == 0
    assert level(dc, cap).reserved == 4
    assert [
        r.quantity
        for r in selectors.reservations_for_owner(owner_type="order_line", owner_id="2")
    ] == [4]
    assert selectors.stock_ledger_mismatches() == []
