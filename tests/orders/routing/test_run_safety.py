"""Two runs at once route each order once; a run that dies half-way leaves every
order either routed with its reservations or still queued."""

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection

from inventory import services as inventory_services
from inventory.models import Reservation, StockLevel
from oms.models import Event
from orders.intake import LineInput
from orders.models import Order
from orders.routing import services
from orders.routing.models import BrokeringRun, FulfillmentRequest
from orders.routing.tasks import run_brokering_task
from tests.integration_support import WorkerProcess, needs_services, publish, wait_until

LINES = [LineInput(sku="SKU-A", quantity=1, unit_price=Decimal("10.00"))]


def one_unit_orders(london_order, count: int) -> list[Order]:
    """`count` opened orders of one unit of SKU-A each, shipping free."""
    return [
        london_order(
            lines=LINES, shipping_price=Decimal("0"), shipping_tax=Decimal("0")
        )
        for _ in range(count)
    ]


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
    orders = one_unit_orders(london_order, 12)
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
    orders = one_unit_orders(london_order, 7)
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


@pytest.mark.django_db
def test_a_reservation_lost_to_a_race_leaves_the_order_queued(
    london_order, places, products, put_stock
):
    """The run read 5 units, but another writer took 4 of them before the run
    reserved: the order that no longer fits keeps nothing and stays queued."""
    from orders.routing import engine

    put_stock(places["near"], products["SKU-A"], 1)
    first, second = one_unit_orders(london_order, 2)
    stale = engine.StockView({(places["near"].pk, products["SKU-A"].pk): 5})
    locations = services.routing_locations()
    decisions = {}
    for order in (first, second):
        line = order.lines.get()
        decision = engine.route(
            services.demand_for(order, [(line.pk, line.product_id, 1)], ()),
            locations,
            stale,
            engine.Rules(),
        )
        stale.take(decision)
        decisions[order.pk] = decision

    routed, unfillable, deferred = services._place(
        run=None,
        orders={o.pk: o for o in (first, second)},
        decisions=decisions,
        safety={},
        safety_override=None,
        auto_cancel={},
    )

    # Both asks hit one stock level and are refused together: neither is half-placed.
    assert (routed, unfillable, deferred) == ([], [], {first.pk, second.pk})
    assert not Reservation.objects.exists()
    assert not FulfillmentRequest.objects.exists()
    assert set(Order.objects.values_list("queue", flat=True)) == {"brokering"}


@pytest.mark.django_db
def test_an_order_with_one_refused_line_gives_back_the_others(
    london_order, places, products, put_stock
):
    from orders.routing import engine

    put_stock(places["near"], products["SKU-A"], 5)
    put_stock(places["near"], products["SKU-B"], 1)
    order = london_order(
        lines=[*LINES, LineInput(sku="SKU-B", quantity=1, unit_price=Decimal("5"))],
        shipping_price=Decimal("0"),
        shipping_tax=Decimal("0"),
    )
    # SKU-B was lost after the run read the stock.
    inventory_services.adjustment_create(
        location=places["near"], product=products["SKU-B"], quantity=-1, reason="lost"
    )
    stale = engine.StockView(
        {
            (places["near"].pk, products["SKU-A"].pk): 5,
            (places["near"].pk, products["SKU-B"].pk): 1,
        }
    )
    lines = [(line.pk, line.product_id, 1) for line in order.lines.order_by("position")]
    decision = engine.route(
        services.demand_for(order, lines, ()),
        services.routing_locations(),
        stale,
        engine.Rules(),
    )

    routed, _, deferred = services._place(
        run=None,
        orders={order.pk: order},
        decisions={order.pk: decision},
        safety={},
        safety_override=None,
        auto_cancel={},
    )

    assert (routed, deferred) == ([], {order.pk})
    assert not Reservation.objects.exists()
    level = StockLevel.objects.get(location=places["near"], product=products["SKU-A"])
    assert level.reserved == 0
    order.refresh_from_db()
    assert (order.status, order.queue) == ("opened", "brokering")


@pytest.mark.django_db(transaction=True)
def test_a_run_whose_worker_died_is_resumed_by_the_redelivered_task(
    london_order, places, products, put_stock, default_rules
):
    put_stock(places["near"], products["SKU-A"], 100)
    orders = one_unit_orders(london_order, 5)
    run = services.brokering_run_start(rule_set=default_rules, enqueue=False)

    def worker_dies(progress):
        raise KeyboardInterrupt  # not an Exception: nothing marks the run failed

    with pytest.raises(KeyboardInterrupt):
        services.brokering_run_execute(
            run_id=run.pk, batch_size=2, on_batch=worker_dies
        )
    run.refresh_from_db()
    assert (run.status, run.orders_routed) == ("running", 2)
    _consistent(orders)

    resumed = services.brokering_run_execute(run_id=run.pk, batch_size=2)

    assert (resumed.status, resumed.orders_routed) == ("completed", 5)
    _consistent(orders)
    assert FulfillmentRequest.objects.count() == 5


@pytest.mark.django_db(transaction=True)
def test_beat_fails_an_abandoned_run_and_starts_a_new_one(
    london_order, places, products, put_stock, default_rules
):
    from datetime import timedelta

    from django.utils import timezone

    from orders.routing.tasks import run_brokering_task

    put_stock(places["near"], products["SKU-A"], 10)
    one_unit_orders(london_order, 1)
    stuck = services.brokering_run_start(rule_set=default_rules, enqueue=False)
    # Its message was lost; its lease ran out a minute ago (the clock, not a state
    # change).
    BrokeringRun.objects.filter(pk=stuck.pk).update(
        lease_expires_at=timezone.now() - timedelta(minutes=1)
    )

    run_brokering_task.apply(kwargs={"rule_set_id": default_rules.pk})

    stuck.refresh_from_db()
    assert stuck.status == "failed"
    fresh = BrokeringRun.objects.exclude(pk=stuck.pk).get()
    assert (fresh.status, fresh.orders_routed) == ("completed", 1)


@pytest.mark.django_db(transaction=True)
def test_a_run_outliving_its_first_lease_is_not_taken_for_abandoned(
    london_order, places, products, put_stock, default_rules, settings
):
    """The task extends the lease with every batch, so the sweep leaves a live run
    alone however long it lasts."""
    settings.OMS_BROKERING_RUN_LEASE_SECONDS = 1
    put_stock(places["near"], products["SKU-A"], 10)
    one_unit_orders(london_order, 4)
    run = services.brokering_run_start(rule_set=default_rules, enqueue=False)
    swept = []

    def slow_batch_then_sweep(progress):
        time.sleep(0.6)
        swept.append(services.brokering_runs_fail_abandoned())

    finished = services.brokering_run_execute(
        run_id=run.pk, batch_size=1, on_batch=slow_batch_then_sweep
    )

    assert (finished.status, finished.orders_routed) == ("completed", 4)
    assert swept == [0, 0, 0, 0]


@pytest.mark.django_db(transaction=True)
def test_a_run_failed_as_abandoned_routes_nothing_more_and_a_fresh_run_goes_on(
    london_order, places, products, put_stock, default_rules
):
    """Its worker was only slow: the sweep failed it between two batches. It stops
    at the next one, and the rule set's next tick routes the rest, each order once."""
    from datetime import timedelta

    from django.utils import timezone

    put_stock(places["near"], products["SKU-A"], 10)
    orders = one_unit_orders(london_order, 5)
    run = services.brokering_run_start(rule_set=default_rules, enqueue=False)

    def lease_runs_out(progress):
        BrokeringRun.objects.filter(pk=run.pk).update(
            lease_expires_at=timezone.now() - timedelta(seconds=1)
        )
        services.brokering_runs_fail_abandoned()

    stopped = services.brokering_run_execute(
        run_id=run.pk, batch_size=2, on_batch=lease_runs_out
    )

    stopped.refresh_from_db()
    assert (stopped.status, stopped.orders_routed) == ("failed", 2)
    assert "lease expired" in stopped.error
    _consistent(orders)
    run_brokering_task.apply(kwargs={"rule_set_id": default_rules.pk})
    fresh = BrokeringRun.objects.exclude(pk=run.pk).get()
    assert (fresh.status, fresh.orders_routed) == ("completed", 3)
    assert FulfillmentRequest.objects.count() == 5
    _consistent(orders)


@pytest.mark.slow
@pytest.mark.integration
@needs_services
@pytest.mark.django_db(transaction=True)
def test_a_run_whose_worker_was_killed_is_taken_over_once_its_lease_runs_out(
    london_order, places, products, put_stock, default_rules, private_redis, settings
):
    """SIGKILL of the worker in the middle of a run, with the broker's production
    visibility timeout (an hour before the message comes back): the rule set's next
    tick after the lease fails the run and a fresh one routes the rest, each order
    exactly once; the message handed back later changes nothing."""
    settings.OMS_BROKERING_RUN_LEASE_SECONDS = 2
    put_stock(places["near"], products["SKU-A"], 100)
    orders = one_unit_orders(london_order, 40)
    run = services.brokering_run_start(rule_set=default_rules, enqueue=False)
    worker = WorkerProcess(
        app="tests.fault_worker",
        REDIS_URL=private_redis.url,
        FAULT_BROKERING_BATCH="4",
        FAULT_BROKERING_PAUSE="0.3",
        OMS_BROKERING_RUN_LEASE_SECONDS="2",
    ).start()
    try:
        publish(run_brokering_task, broker_url=private_redis.url, run_id=run.pk)
        wait_until(
            lambda: BrokeringRun.objects.get(pk=run.pk).orders_routed >= 8,
            timeout=30,
            message="the run never began",
        )
    finally:
        worker.kill()
    assert BrokeringRun.objects.get(pk=run.pk).status == "running"
    _consistent(orders)
    killed_at = time.monotonic()

    def next_tick_takes_over() -> bool:
        run_brokering_task.apply(kwargs={"rule_set_id": default_rules.pk})
        return BrokeringRun.objects.get(pk=run.pk).status == "failed"

    wait_until(next_tick_takes_over, timeout=10, message="the run was never failed")

    assert time.monotonic() - killed_at < 5
    fresh = BrokeringRun.objects.exclude(pk=run.pk).get()
    assert fresh.status == "completed"
    services.brokering_run_execute(run_id=run.pk)  # the message handed back at last
    assert FulfillmentRequest.objects.count() == 40
    assert set(FulfillmentRequest.objects.values_list("order_id", flat=True)) == {
        o.pk for o in orders
    }
    assert Reservation.objects.count() == 40
    assert Event.objects.filter(name="fulfillment_request.assigned").count() == 40
    _consistent(orders)


@pytest.mark.slow
@pytest.mark.integration
@needs_services
@pytest.mark.django_db(transaction=True)
def test_a_worker_process_killed_mid_run_leaves_the_rest_to_its_successor(
    london_order, places, products, put_stock, default_rules, private_redis
):
    """SIGKILL of the worker process while a run is between (or inside) batches; a
    new worker gets the task back from the broker (acks late), resumes the run and
    routes every order exactly once."""
    put_stock(places["near"], products["SKU-A"], 100)
    orders = one_unit_orders(london_order, 40)
    run = services.brokering_run_start(rule_set=default_rules, enqueue=False)
    fault_env = {
        "REDIS_URL": private_redis.url,
        "FAULT_BROKERING_BATCH": "4",
        "FAULT_BROKERING_PAUSE": "0.3",
        "FAULT_VISIBILITY_TIMEOUT": "3",
    }

    def routed() -> int:
        return BrokeringRun.objects.get(pk=run.pk).orders_routed

    worker = WorkerProcess(app="tests.fault_worker", **fault_env).start()
    try:
        publish(run_brokering_task, broker_url=private_redis.url, run_id=run.pk)
        wait_until(lambda: routed() >= 8, timeout=30, message="the run never began")
        worker.kill()
        routed_when_killed = routed()
        assert 8 <= routed_when_killed < 40, "not killed in the middle of the run"
        assert BrokeringRun.objects.get(pk=run.pk).status == "running"
        _consistent(orders)

        worker = WorkerProcess(app="tests.fault_worker", **fault_env).start()
        wait_until(
            lambda: BrokeringRun.objects.get(pk=run.pk).status == "completed",
            timeout=30,
            message=lambda: f"run stuck at {routed()} of 40 routed",
        )
    finally:
        worker.stop()

    run.refresh_from_db()
    assert (run.orders_routed, run.orders_seen) == (40, 40)
    assert BrokeringRun.objects.count() == 1
    _consistent(orders)
    assert FulfillmentRequest.objects.count() == 40
    assert Reservation.objects.count() == 40
    level = StockLevel.objects.get(location=places["near"], product=products["SKU-A"])
    assert level.reserved == 40
    assert Event.objects.filter(name="fulfillment_request.assigned").count() == 40
