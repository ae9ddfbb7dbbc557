"""Brokering runs: where orders go, splits, safety stock, unfillable orders."""

import json
from decimal import Decimal

import pytest
from django_celery_beat.models import PeriodicTask

from inventory.models import Reservation, StockLevel
from oms.errors import Conflict
from oms.models import Event
from orders.intake import LineInput
from orders.models import Order
from orders.routing import services
from orders.routing.models import BrokeringRun, FulfillmentRequest
from orders.routing.tasks import run_brokering_task

pytestmark = pytest.mark.django_db


def two_lines(a=1, b=1):
    return [
        LineInput(sku="SKU-A", quantity=a, unit_price=Decimal("10.00")),
        LineInput(sku="SKU-B", quantity=b, unit_price=Decimal("20.00")),
    ]


def test_routes_to_the_nearest_location_with_stock(
    london_order, places, products, put_stock, run_brokering
):
    for place in places.values():
        put_stock(place, products["SKU-A"], 5)
        put_stock(place, products["SKU-B"], 5)
    order = london_order(
        lines=two_lines(), shipping_price=Decimal("0"), shipping_tax=Decimal("0")
    )

    run = run_brokering()

    order.refresh_from_db()
    assert (order.status, order.queue) == ("in_fulfillment", "")
    request = FulfillmentRequest.objects.get(order=order)
    assert request.location == places["near"]
    assert request.explanation["considered"][0]["verdict"] == "chosen"
    assert {c["code"] for c in request.explanation["considered"]} == {
        "CAMDEN",
        "CROYDON",
        "DC-MAN",
    }
    assert set(order.lines.values_list("quantity_allocated", "quantity_open")) == {
        (1, 0)
    }
    held = Reservation.objects.filter(owner_type="order_line")
    assert {r.location_id for r in held} == {places["near"].pk}
    assert (run.status, run.orders_routed, run.orders_split) == ("completed", 1, 0)
    assert Event.objects.filter(name="fulfillment_request.assigned").count() == 1


def test_nearest_without_stock_is_passed_over_with_the_reason(
    london_order, places, products, put_stock, run_brokering
):
    put_stock(places["near"], products["SKU-A"], 5)
    put_stock(places["far"], products["SKU-A"], 5)
    put_stock(places["far"], products["SKU-B"], 5)
    order = london_order(
        lines=two_lines(), shipping_price=Decimal("0"), shipping_tax=Decimal("0")
    )

    run_brokering()

    request = FulfillmentRequest.objects.get(order=order)
    assert request.location == places["far"]
    verdicts = {c["code"]: c["verdict"] for c in request.explanation["considered"]}
    assert verdicts == {"CROYDON": "chosen", "CAMDEN": "has 1 of 2 units"}


def test_splits_only_when_the_policy_allows(
    london_order, places, products, put_stock, run_brokering, default_rules
):
    put_stock(places["near"], products["SKU-A"], 5)
    put_stock(places["far"], products["SKU-B"], 5)
    never = services.rule_set_create(name="Never split", split_policy="never")
    kept = london_order(
        lines=two_lines(), shipping_price=Decimal("0"), shipping_tax=Decimal("0")
    )

    run = run_brokering(never)

    kept.refresh_from_db()
    assert kept.queue == "unfillable"
    assert kept.routing.auto_cancel_at is not None
    assert kept.routing.explanation["outcome"] == "unfillable"
    assert run.orders_unfillable == 1
    assert not Reservation.objects.exists()

    services.orders_move_queue(numbers=[kept.number], queue="brokering", actor=None)
    run = run_brokering(default_rules)

    kept.refresh_from_db()
    assert kept.status == "in_fulfillment"
    assert set(
        FulfillmentRequest.objects.filter(order=kept).values_list(
            "location__code", flat=True
        )
    ) == {"CAMDEN", "CROYDON"}
    assert run.orders_split == 1


def test_safety_stock_is_kept_back(
    london_order, places, products, put_stock, run_brokering
):
    put_stock(places["near"], products["SKU-A"], 2)
    put_stock(places["near"], products["SKU-B"], 2)
    put_stock(places["dc"], products["SKU-A"], 9)
    put_stock(places["dc"], products["SKU-B"], 9)
    safe = services.rule_set_create(name="Keep one back", safety_stock_override=1)
    order = london_order(
        lines=two_lines(a=2), shipping_price=Decimal("0"), shipping_tax=Decimal("0")
    )

    run_brokering(safe)

    assert FulfillmentRequest.objects.get(order=order).location == places["dc"]
    level = StockLevel.objects.get(location=places["dc"], product=products["SKU-A"])
    assert level.reserved == 2


def test_an_order_is_never_over_reserved_across_a_batch(
    london_order, places, products, put_stock, run_brokering
):
    put_stock(places["near"], products["SKU-A"], 3)
    put_stock(places["near"], products["SKU-B"], 3)
    orders = [
        london_order(
            lines=two_lines(), shipping_price=Decimal("0"), shipping_tax=Decimal("0")
        )
        for _ in range(5)
    ]

    run = run_brokering(batch_size=2)

    assert (run.orders_seen, run.orders_routed, run.orders_unfillable) == (5, 3, 2)
    level = StockLevel.objects.get(location=places["near"], product=products["SKU-A"])
    assert level.reserved == 3
    queues = sorted(
        Order.objects.filter(pk__in=[o.pk for o in orders]).values_list(
            "queue", flat=True
        )
    )
    assert queues == ["", "", "", "unfillable", "unfillable"]


def test_beat_runs_a_rule_set_as_its_schedule_says(
    london_order, places, products, put_stock, default_rules
):
    put_stock(places["near"], products["SKU-A"], 5)
    put_stock(places["near"], products["SKU-B"], 5)
    order = london_order()
    scheduled = PeriodicTask.objects.get(pk=default_rules.periodic_task_id)

    run_brokering_task.apply(kwargs=json.loads(scheduled.kwargs))

    run = BrokeringRun.objects.get()
    assert (run.rule_set, run.status, run.orders_routed) == (
        default_rules,
        "completed",
        1,
    )
    order.refresh_from_db()
    assert order.status == "in_fulfillment"
    with pytest.raises(Conflict):
        services.rule_set_delete(rule_set=default_rules)


def test_beat_makes_no_run_when_nothing_waits(default_rules):
    run_brokering_task.apply(kwargs={"rule_set_id": default_rules.pk})

    assert not BrokeringRun.objects.exists()
