"""A shipment and a brokering run change the same stock levels at the same moment:
both lock them in (location, product) order, so neither is aborted as a deadlock
(which the API answers with a 503). Real threads on PostgreSQL."""

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, transaction

from inventory.services import ReservationRequest, reservations_create_bulk
from orders.intake import LineInput
from orders.routing import services
from orders.routing.models import FulfillmentRequest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need PostgreSQL"
    ),
]


def wait_for_a_lock_wait(timeout: float = 10.0) -> None:
    """Until another session of this database waits for a row lock."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                "current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("Nobody waited for a lock.")


def in_thread(action, outcomes: dict, name: str) -> threading.Thread:
    def run():
        try:
            action()
            outcomes[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - the outcome is what is asserted
            outcomes[name] = f"{type(exc).__name__}: {exc}"
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_shipping_while_brokering_reserves_the_same_stock_is_no_deadlock(
    london_order, places, products, put_stock, run_brokering
):
    store = places["near"]
    sku_a, sku_b = products["SKU-A"], products["SKU-B"]
    for product in (sku_a, sku_b):
        put_stock(store, product, 10)
    # Lines in the opposite order of the stock levels' keys (SKU-A's id is lower).
    order = london_order(
        lines=[
            LineInput(sku="SKU-B", quantity=1, unit_price=Decimal("25.00")),
            LineInput(sku="SKU-A", quantity=1, unit_price=Decimal("10.00")),
        ]
    )
    run_brokering()
    request = FulfillmentRequest.objects.get(order=order, location=store)
    services.fulfillment_request_accept(request=request, actor=None)
    brokering_holds_a, shipment_waits = threading.Event(), threading.Event()

    def brokering_batch():
        """Reserves for another order, taking SKU-A's level first, then both."""

        def reserve(*products_):
            reservations_create_bulk(
                owner_type="order_line",
                requests=[
                    ReservationRequest(store.pk, product.pk, 1, "other", 0)
                    for product in products_
                ],
            )

        with transaction.atomic():
            reserve(sku_a)
            brokering_holds_a.set()
            shipment_waits.wait(timeout=10)
            reserve(sku_a, sku_b)

    def ship():
        services.fulfillment_request_ship(
            request=request, actor=None, carrier="DHL", tracking_number="TRK1"
        )

    outcomes: dict[str, str] = {}
    brokering = in_thread(brokering_batch, outcomes, "brokering")
    assert brokering_holds_a.wait(timeout=10)
    shipping = in_thread(ship, outcomes, "ship")
    wait_for_a_lock_wait()
    shipment_waits.set()
    brokering.join(timeout=30)
    shipping.join(timeout=30)

    assert outcomes == {"brokering": "ok", "ship": "ok"}
    request.refresh_from_db()
    assert request.status == "completed"
