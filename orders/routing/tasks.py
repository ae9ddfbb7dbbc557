"""Celery tasks of routing and fulfillment: thin, idempotent, database-driven."""

from celery import shared_task

from orders.models import Order
from orders.routing import services
from orders.routing.models import BrokeringRun, RoutingRuleSet


@shared_task(name="routing.run_brokering")
def run_brokering_task(*, rule_set_id: int | None = None, run_id: int | None = None):
    """Beat gives a rule set: a new run is made and executed here, unless one is
    under way or nothing waits. A run started by hand gives its run id; a finished
    one is left alone, a running one resumed (redelivery after a worker died)."""
    if run_id is None:
        rule_set = RoutingRuleSet.objects.filter(pk=rule_set_id, active=True).first()
        if rule_set is None:
            return None
        services.brokering_runs_fail_abandoned()
        # Nothing waiting: no run row, so the history shows runs that did work.
        if not Order.objects.filter(
            queue__in=rule_set.queues, status__in=services.ROUTABLE_STATUSES
        ).exists():
            return None
        if BrokeringRun.objects.filter(
            rule_set=rule_set,
            status__in=[BrokeringRun.Status.QUEUED, BrokeringRun.Status.RUNNING],
        ).exists():
            return None
        run_id = services.brokering_run_start(rule_set=rule_set, enqueue=False).pk
    return services.brokering_run_execute(run_id=run_id).pk


@shared_task(name="routing.release_parked_orders")
def release_parked_orders_task() -> int:
    return services.orders_release_parked()


@shared_task(name="routing.auto_cancel_unfillable")
def auto_cancel_unfillable_task() -> int:
    return services.orders_auto_cancel_due()


@shared_task(name="routing.expire_pickups")
def expire_pickups_task() -> int:
    return services.pickups_expire()
