"""Two runs at once route each order once; a run that dies half-way leaves every
order either routed with its reservations or still queued."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from inventory.models import Reservation, StockLevel
from orders.intake import LineInput
from orders.models import Order
from orders.routing import services
from orders.routing.models import BrokeringRun, FulfillmentRequest

LINES = [LineInput(sku="SKU-A", quantity=1, unit_price=Decimal("10.00"))]


def _consistent(orders):
    """Every order is either in fulfillment with one request and its reservation,
    or still in the brokering queue with nothing held."""
    for order in Order.objects.filter(pk__in=[o.pk for o in orders]):
        line = order.lines.get()
        held = Reservation.objects.filter(owner_id=str(line.pk)).count()
        requests = FulfillmentRequest.objects.filter(order=order).count()
        if order.queue == "brokering":
            assert (order.status, held, requests, line.quantity_open) == (
                "opened",
                0,
                0,
                1,
            )
        else:
            assert (order.status, held, requests, line.quantity_allocated) == (
                "in_fulfillment",
                1,
                1,
                1,
            )


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_route_each_order_once(
    london_order, places, products, put_stock, default_rules
):
    put_stock(places["near"], products["SKU-A"], 100)
    orders = [
        london_order(
            lines=LINES, shipping_price=Decimal("0"), shipping_tax=Decimal("0")
        )
        for _ in range(12)
    ]
    runs = [
        services.brokering_run_start(rule_set=default_rules, enqueue=False)
        for _ in range(2)
    ]
    barrier = threading.Barrier(2)
    errors = []

    def execute(run_id):
        try:
            barrier.wait()
            services.brokering_run_execute(run_id=run_id, batch_size=3)
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=execute, args=(run.pk,)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert FulfillmentRequest.objects.count() == 12
    assert set(FulfillmentRequest.objects.values_list("order_id", flat=True)) == {
        o.pk for o in orders
    }
    level = StockLevel.objects.get(location=places["near"], product=products["SKU-A"])
    assert level.reserved == 12
    finished = BrokeringRun.objects.filter(pk__in=[r.pk for r in runs])
    assert sum(r.orders_routed for r in finished) == 12
    _consistent(orders)


@pytest.mark.django_db(transaction=True)
def test_a_run_killed_after_its_first_batch_leaves_consistent_state(
    london_order, places, products, put_stock, default_rules
):
    put_stock(places["near"], products["SKU-A"], 100)
    orders = [
        london_order(
            lines=LINES, shipping_price=Decimal("0"), shipping_tax=Decimal("0")
        )
        for _ in range(7)
    ]
    run = services.brokering_run_start(rule_set=default_rules, enqueue=False)

    def die(progress):
        raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError):
        services.brokering_run_execute(run_id=run.pk, batch_size=3, on_batch=die)

    run.refresh_from_db()
    assert (run.status, run.orders_routed) == ("failed", 3)
    assert "worker killed" in run.error
    _consistent(orders)
    assert Order.objects.filter(queue="brokering").count() == 4

    again = services.brokering_run_start(rule_set=default_rules, enqueue=False)
    services.brokering_run_execute(run_id=again.pk)
    _consistent(orders)
    assert not Order.objects.filter(queue="brokering").exists()
    level = StockLevel.objects.get(location=places["near"], product=products["SKU-A"])
    assert level.reserved == 7
