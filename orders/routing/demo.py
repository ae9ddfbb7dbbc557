"""Routing demo data (called by `manage.py seed_demo` after the orders demo): a draft
rule set to simulate, one brokering run over the demo queue, and a request accepted
by its store. Idempotent."""

from orders.models import Order
from orders.routing import services
from orders.routing.models import BrokeringRun, FulfillmentRequest, RoutingRuleSet

DRAFT = "Stores first (draft)"


def seed(stdout) -> None:
    if not RoutingRuleSet.objects.filter(name="Default").exists():
        services.rule_set_create(name="Default", run_every_minutes=5)
    if not RoutingRuleSet.objects.filter(name=DRAFT).exists():
        services.rule_set_create(
            name=DRAFT,
            description="Inactive: simulate it against the queue before switching.",
            location_types=["store"],
            sort_criteria=["distance", "available_stock"],
            split_policy="freely",
            active=False,
        )
    if BrokeringRun.objects.exists():
        stdout.write("routing: demo data present")
        return
    default = RoutingRuleSet.objects.get(name="Default")
    if not Order.objects.filter(queue__in=default.queues).exists():
        stdout.write("routing: no order waits for routing; run the orders demo first")
        return
    run = services.brokering_run_start(rule_set=default, enqueue=False)
    run = services.brokering_run_execute(run_id=run.pk)
    first = FulfillmentRequest.objects.filter(status="assigned").order_by("id").first()
    if first is not None:
        services.fulfillment_request_accept(request=first, actor=None)
    stdout.write(
        f"routing: run {run.pk} routed {run.orders_routed} order(s), "
        f"{run.orders_unfillable} unfillable"
    )
