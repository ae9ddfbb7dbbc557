"""Simulating a draft rule set changes nothing anywhere and tells what would differ."""

from decimal import Decimal

import pytest
from django.apps import apps

from orders.intake import LineInput
from orders.routing import engine, selectors, services

pytestmark = pytest.mark.django_db


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if not model._meta.proxy
    }


def test_simulation_has_no_side_effect_and_compares_with_the_live_rules(
    london_order, places, products, put_stock, default_rules, run_brokering
):
    put_stock(places["near"], products["SKU-A"], 5)
    put_stock(places["dc"], products["SKU-A"], 5)
    put_stock(places["dc"], products["SKU-B"], 5)
    put_stock(places["far"], products["SKU-B"], 5)
    lines = [
        LineInput(sku="SKU-A", quantity=1, unit_price=Decimal("10.00")),
        LineInput(sku="SKU-B", quantity=1, unit_price=Decimal("10.00")),
    ]
    first = london_order(lines=lines)
    second = london_order(lines=lines[:1])
    before = row_counts()

    simulation = selectors.routing_simulation(
        rules=engine.Rules(
            split_policy=engine.SplitPolicy.FREELY,
            sort_criteria=(engine.SortCriterion.DISTANCE,),
        ),
        live_rule_set=default_rules,
    )

    assert row_counts() == before
    by_number = {o.number: o for o in simulation.orders}
    assert by_number[first.number].draft["locations"] == ["CAMDEN", "CROYDON"]
    assert by_number[first.number].live["locations"] == ["DC-MAN"]
    assert by_number[first.number].differs
    assert not by_number[second.number].differs
    assert simulation.draft.as_dict()["splits"] == 1
    assert simulation.live.as_dict()["splits"] == 0
    assert simulation.draft.average_distance_km < simulation.live.average_distance_km

    # The live run then does what the simulation said the live rules would do.
    run_brokering()
    first.refresh_from_db()
    assert [r.location.code for r in first.fulfillment_requests.all()] == ["DC-MAN"]


def test_simulating_chosen_past_orders_reports_unknown_numbers(
    london_order, places, products, put_stock, default_rules, run_brokering
):
    put_stock(places["near"], products["SKU-A"], 5)
    put_stock(places["near"], products["SKU-B"], 5)
    order = london_order()
    run_brokering()
    before = row_counts()

    simulation = selectors.routing_simulation(
        rules=default_rules.engine_rules(),
        order_numbers=[order.number, "NOPE-1"],
        live_rule_set=default_rules,
    )

    assert row_counts() == before
    assert simulation.unknown_numbers == ["NOPE-1"]
    assert simulation.orders[0].draft["locations"] == ["CAMDEN"]


def test_rule_set_frequency_keeps_its_beat_entry_in_step(db):
    rule_set = services.rule_set_create(name="Nightly", run_every_minutes=60)
    assert rule_set.periodic_task.interval.every == 60
    assert rule_set.periodic_task.task == "routing.run_brokering"

    services.rule_set_update(rule_set=rule_set, run_every_minutes=15)
    rule_set.refresh_from_db()
    assert rule_set.periodic_task.interval.every == 15

    services.rule_set_update(rule_set=rule_set, active=False)
    rule_set.refresh_from_db()
    assert rule_set.periodic_task is None
