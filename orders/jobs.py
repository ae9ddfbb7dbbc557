"""Bulk order actions as background jobs: each row is an order number, applied
through the same services as the order page and the queue pages."""

from django_fsm import can_proceed

from oms.errors import Conflict, NotFound
from oms.jobs import JobKind, register
from oms.roles import Role
from orders import selectors, services
from orders.models import Order
from orders.routing import services as routing_services
from payments.money import quantize


def _order(row: dict[str, str]) -> Order:
    if not row["number"]:
        raise NotFound("No order number on this row.", code="order_not_found")
    return selectors.order_get(number=row["number"])


def _queue_label(queue: str) -> str:
    return Order.Queue(queue).label if queue else "no queue"


def _money(amount, order: Order) -> str:
    return f"{quantize(amount, order.currency)} {order.currency}"


class OrderJobKind(JobKind):
    roles = (Role.CSR,)
    columns = ("number",)
    unique_by = ("number",)


@register
class ApproveOrders(OrderJobKind):
    name = "orders.approve"
    label = "Approve held orders"
    params = {"comment": ("Comment", True)}

    def _check(self, order: Order) -> None:
        if not can_proceed(order.approve):
            raise Conflict(
                f"It is {order.get_status_display().lower()}; only orders on hold "
                "can be approved.",
                code="order_not_on_hold",
            )

    def apply(self, *, row, params, actor, reference) -> str:
        order = _order(row)
        self._check(order)
        order = services.order_approve(
            order=order, actor=actor, comment=params["comment"]
        )
        return f"Approved; now in {_queue_label(order.queue)}."

    def preview(self, *, row, params) -> str:
        order = _order(row)
        self._check(order)
        return f"Would approve it into {_queue_label(order.routing_queue)}."


@register
class CancelOrders(OrderJobKind):
    name = "orders.cancel"
    label = "Cancel orders"
    params = {"reason": ("Reason", True)}

    def apply(self, *, row, params, actor, reference) -> str:
        order = _order(row)
        lines = list(order.lines.all())
        gives_back = self._gives_back(order, lines)
        # Refused if the order changes between this read and the cancellation's
        # lock, so the result says what this cancellation gave back.
        services.order_cancel(
            order=order,
            actor=actor,
            reason=params["reason"],
            expected_version=services.order_version(order=order, lines=lines),
        )
        return f"Cancelled; {_money(gives_back, order)} credited to the customer."

    def preview(self, *, row, params) -> str:
        order = _order(row)
        lines = list(order.lines.all())
        services.require_cancellable(order=order, lines=lines)
        units = sum(line.quantity_cancellable for line in lines)
        return (
            f"Would cancel {units} units and credit "
            f"{_money(self._gives_back(order, lines), order)} to the customer."
        )

    @staticmethod
    def _gives_back(order, lines):
        return services.order_cancel_gives_back(
            order=order, lines=lines, account=services.order_account(order)
        )


class QueueMoveKind(OrderJobKind):
    """Release / hold / unhold: `orders_move_queue` for one order."""

    target: str
    params = {"reason": ("Reason", False)}

    def apply(self, *, row, params, actor, reference) -> str:
        order = _order(row)
        result = routing_services.orders_move_queue(
            numbers=[order.number],
            queue=self.target,
            actor=actor,
            reason=params["reason"],
        )
        if refusal := result.refused.get(order.number):
            raise Conflict(refusal, code="queue_move_refused")
        return f"Moved from {order.get_queue_display()} to {_queue_label(self.target)}."

    def preview(self, *, row, params) -> str:
        order = _order(row)
        if refusal := routing_services.queue_move_refusal(
            order=order, queue=self.target
        ):
            raise Conflict(refusal, code="queue_move_refused")
        return (
            f"Would move it from {order.get_queue_display()} to "
            f"{_queue_label(self.target)}."
        )


@register
class ReleaseOrders(QueueMoveKind):
    name = "orders.release"
    label = "Release orders to brokering"
    target = Order.Queue.BROKERING


@register
class HoldOrders(QueueMoveKind):
    name = "orders.hold"
    label = "Hold unfillable orders"
    target = Order.Queue.UNFILLABLE_HOLD


@register
class UnholdOrders(QueueMoveKind):
    name = "orders.unhold"
    label = "Unhold orders (back to unfillable)"
    target = Order.Queue.UNFILLABLE


@register
class RerouteOrders(OrderJobKind):
    name = "orders.reroute"
    label = "Re-route orders not yet accepted"
    params = {"reason": ("Reason", False)}

    def apply(self, *, row, params, actor, reference) -> str:
        withdrawn = routing_services.order_reroute(
            order=_order(row), actor=actor, reason=params["reason"]
        )
        return f"Withdrew {', '.join(withdrawn)}; back to Brokering."

    def preview(self, *, row, params) -> str:
        requests = routing_services.reroutable_requests(order=_order(row))
        return (
            "Would withdraw "
            + ", ".join(
                f"{request.number} ({request.location.code})" for request in requests
            )
            + " and route the order again."
        )
