"""Periodic sweeps of the orders app: thin, idempotent, safe to run twice."""

from datetime import timedelta

from celery import shared_task

from orders import services

REAUTHORIZE_AHEAD = timedelta(days=1)


@shared_task(name="orders.open_due_orders")
def open_due_orders() -> int:
    return services.orders_open_due()


@shared_task(name="orders.recheck_held_orders")
def recheck_held_orders() -> int:
    return services.orders_recheck_on_hold()


@shared_task(name="orders.reauthorize_expiring_payments")
def reauthorize_expiring_payments() -> int:
    return services.orders_reauthorize_expiring(within=REAUTHORIZE_AHEAD)
