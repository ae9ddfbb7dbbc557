"""Read queries of the orders app, shared by the API and the pages."""

from collections.abc import Mapping

from django.db.models import Prefetch, QuerySet

from oms.errors import NotFound
from oms.selectors import entity_timeline
from orders.filters import OrderFilter
from orders.models import Order, OrderLine
from orders.refund_calculator import RefundPlan, cancellation_plan
from orders.services import nothing_left_after, order_account, order_amounts
from orders.workflows.selectors import order_run_timeline


def order_list(*, filters: Mapping | None = None) -> QuerySet[Order]:
    """Orders matching the list filters (see `OrderFilter`), newest first. Raises
    nothing for bad filter values: they are ignored by the page, 400 by the API."""
    # Channels and locations come in two small queries, not joins: a join next to
    # the search's `id = ANY(…)` leads the planner to read every match before
    # sorting, where a plain walk down the primary key stops after one page.
    queryset = Order.objects.prefetch_related("channel", "pickup_location").order_by(
        "-id"
    )
    if not filters:
        return queryset
    return OrderFilter(filters, queryset=queryset).qs


def order_get(*, number: str) -> Order:
    """One order with its channel, pickup location and lines."""
    if "\x00" in number:  # PostgreSQL text cannot hold NUL: no such order
        raise NotFound("No such order.", code="order_not_found")
    order = (
        Order.objects.select_related("channel", "pickup_location")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.order_by("position"))
        )
        .filter(number=number)
        .first()
    )
    if order is None:
        raise NotFound(f"No order {number}.", code="order_not_found")
    return order


def order_timeline(*, order: Order) -> list[dict]:
    """Every event and transition of the order and of its lines, the money events
    of its payment account (authorized, captured, voided, refunded, failed) and the
    runs of workflow steps for it, oldest first: a CSR sees what a cancellation or
    a return gave back, and what the workflow did."""
    items = entity_timeline(entity_type="order", entity_id=order.pk)
    for line in order.lines.all():
        items.extend(entity_timeline(entity_type="order_line", entity_id=line.pk))
    if account := order_account(order):
        items.extend(
            item
            for item in entity_timeline(
                entity_type="payment_account", entity_id=account.pk
            )
            if item["kind"] == "event"
        )
    items.extend(order_run_timeline(order=order))
    return sorted(items, key=lambda item: item["at"])


def order_refund_preview(*, order: Order, quantities: Mapping[int, int]) -> RefundPlan:
    """What cancelling `quantities` per line id would give back (shipping too when
    nothing is left): the same calculation the cancellation moves the money by."""
    lines = list(order.lines.all())
    known = {line.pk for line in lines}
    units = {pk: count for pk, count in quantities.items() if pk in known and count}
    include_shipping = bool(units) and nothing_left_after(lines=lines, units=units)
    return cancellation_plan(
        order_amounts(order, lines), units, include_shipping=include_shipping
    )
