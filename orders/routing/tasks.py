"""Celery tasks of routing and fulfillment: thin, idempotent, database-driven."""

from celery import shared_task

from orders.routing import selectors, services


@shared_task(name="routing.run_brokering")
def run_brokering_task(*, rule_set_id: int | None = None, run_id: int | None = None):
    """Beat gives a rule set: a new run is made and executed here, unless one is
    under way or nothing waits. A run started by hand gives its run id; a finished
    one is left alone, a running one resumed (redelivery after a worker died)."""
    if run_id is None:
        run = services.brokering_run_for_schedule(rule_set_id=rule_set_id)
        if run is None:
            return None
        run_id = run.pk
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


@shared_task(name="routing.record_queue_sizes")
def record_queue_sizes_task() -> None:
    sizes = {row["queue"]: row["size"] for row in selectors.queue_sizes()}
    services.queue_snapshot_record(sizes=sizes)
