"""Write use-cases of an order's life after intake (intake is in `orders.intake`).

Every service runs in one `transaction.atomic()` and first locks the order row.
Requests from people and integrations lock with NOWAIT: when someone else is changing
the same order at that moment, the caller gets a 409 `order_busy` at once instead of
acting on a state they did not see. Sweeps skip locked orders and take them next time.
Money always follows `orders.refund_calculator`.
"""

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import OperationalError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django_fsm import can_proceed

from inventory.selectors import products_by_sku
from inventory.services import (
    reservations_release,
    stock_levels_lock_reserved,
    stock_ship_unreserved,
)
from oms.errors import ApplicationError, Conflict
from oms.services.events import actor_name, record_event
from oms.services.transitions import apply_transition
from orders import errors
from orders.models import LARGEST_AMOUNT, Channel, Order, OrderLine
from orders.refund_calculator import (
    LineAmounts,
    OrderAmounts,
    RefundPlan,
    SwapAmounts,
    cancellation_plan,
    return_plan,
    swap_amounts,
)
from orders.workflows.models import WorkflowStage
from orders.workflows.runner import WorkflowStepFailed, run_stage, transition_atomic
from payments.money import quantize
from payments.selectors import (
    payment_account_for_owner,
    payment_account_refundable,
    payment_accounts_expiring,
)
from payments.services import (
    PaymentDeclined,
    payment_authorization_cancel,
    payment_authorize,
    payment_capture,
    payment_reauthorize,
    payment_refund,
    payment_void,
)

ZERO = Decimal("0")
AUTHORIZED_STATUSES = {"authorized", "partially_captured", "captured"}
SWEEP_BATCH = 200
HOLD_FIELDS = ["status", "queue", "hold_reasons", "held_by_rules"]
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL: NOWAIT found the row locked
logger = logging.getLogger(__name__)


# Locking and reading ------------------------------------------------------------------


def lock_order(*, order_id: int, nowait: bool = True) -> Order:
    """The order row locked for this transaction, with its lines (in position order).
    With `nowait`, a row someone else is changing is a 409 `order_busy`."""
    try:
        order = (
            Order.objects.select_for_update(nowait=nowait, of=("self",))
            .select_related("channel", "pickup_location")
            .get(pk=order_id)
        )
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        raise Conflict(
            "Someone else is changing this order right now; reload it and try again.",
            code=errors.ORDER_BUSY,
        ) from exc
    order.locked_lines = list(order.lines.order_by("position"))
    return order


def order_account(order: Order):
    return payment_account_for_owner(owner_type="order", owner_id=str(order.pk))


EDITABLE_FIELDS = (
    "customer_name",
    "customer_email",
    "customer_phone",
    "shipping_address",
    "shipping_method",
    "notes",
)
# What a CSR sees of an order when they decide on a change: its stage and holds,
# contact, address and pickup store, the total and what was credited, and each
# line's units and amounts. Routing moving units between open and allocated, and
# the order from opened to in fulfillment, leaves it as it is.
VERSIONED_ORDER_FIELDS = (
    *EDITABLE_FIELDS,
    "hold_reasons",
    "pickup_location_id",
    "total",
    "exchange_credit",
    "shipping_credited",
)
_ROUTED = {Order.Status.OPENED, Order.Status.IN_FULFILLMENT}
VERSIONED_LINE_FIELDS = (
    "sku",
    "quantity",
    "unit_price",
    "discount",
    "tax",
    "final_sale",
    "quantity_fulfilled",
    "quantity_cancelled",
    "quantity_returned",
    "credited_amount",
)


def order_version(*, order: Order, lines: Iterable[OrderLine]) -> str:
    """A short digest of the order as a page showed it. A page sends it back with
    the change it confirms, and the service refuses the change when the order has
    moved on since (`_require_version`)."""
    stage = "routed" if order.status in _ROUTED else order.status
    state = (
        [stage, *(getattr(order, name) for name in VERSIONED_ORDER_FIELDS)],
        [
            (line.pk, *(getattr(line, name) for name in VERSIONED_LINE_FIELDS))
            for line in sorted(lines, key=lambda line: line.pk)
        ],
    )
    return hashlib.sha256(repr(state).encode()).hexdigest()[:16]


def _require_version(order: Order, expected: str | None) -> None:
    """409 `order_changed` when a page's confirmation was worked out from another
    state of the locked order (another user's change, a shipment, or the same form
    sent twice), or an API client's `If-Match`. `None`: the caller does not check
    (the change applies to the order as it is now)."""
    if expected is not None and expected != order_version(
        order=order, lines=order.locked_lines
    ):
        raise Conflict(
            f"Order {order.number} has changed since you looked at it (another "
            "user, a shipment, or the same form sent twice); nothing was done. "
            "Look at the order again and confirm what you still want.",
            code=errors.ORDER_CHANGED,
        )


def line_amounts(line: OrderLine) -> LineAmounts:
    """The refund calculator's view of a line (pure values, no database)."""
    return LineAmounts(
        key=line.pk,
        quantity=line.quantity,
        unit_price=line.unit_price,
        discount=line.discount,
        order_discount_share=line.order_discount_share,
        tax=line.tax,
        quantity_fulfilled=line.quantity_fulfilled,
        quantity_cancelled=line.quantity_cancelled,
        quantity_returned=line.quantity_returned,
    )


def order_amounts(order: Order, lines: Iterable[OrderLine]) -> OrderAmounts:
    """The refund calculator's view of an order (pure values, no database)."""
    return OrderAmounts(
        currency=order.currency,
        lines=tuple(line_amounts(line) for line in lines),
        shipping=order.shipping_total,
        shipping_credited=order.shipping_credited,
    )


def line_swap_amounts(
    *, order: Order, line: OrderLine, units: int, new_unit_price: Decimal
) -> SwapAmounts:
    """The money of swapping `units` of `line` for a line at `new_unit_price`: one
    calculation for the swap page's preview and for the swap itself."""
    return swap_amounts(
        line=line_amounts(line),
        units=units,
        new_unit_price=new_unit_price,
        currency=order.currency,
    )


def order_created_payload(order: Order, lines: Iterable[OrderLine]) -> dict:
    return {
        "number": order.number,
        "channel": order.channel.code,
        "external_id": order.external_id,
        "order_type": order.order_type_id,
        "currency": order.currency,
        "total": order.total,
        "grace_period_ends_at": order.grace_period_ends_at,
        "lines": [
            {"line_id": line.pk, "sku": line.sku, "quantity": line.quantity}
            for line in lines
        ],
    }


def _key(order: Order, operation: str, *parts) -> str:
    """A payment idempotency key derived from the order's state before the change,
    so a retried call after a crash reuses it and a new change gets a new one."""
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:16]
    return f"order-{order.pk}-{operation}-{digest}"


# Hooks for fulfillment ----------------------------------------------------------------


def fulfillment_requests_withdraw(*, order: Order, lines: list[OrderLine]) -> None:
    """Withdraw the fulfillment requests that hold `lines` of `order` (cancellation,
    swap); the caller releases the lines' reservations itself."""
    from orders.routing.services import fulfillment_requests_withdraw as withdraw

    withdraw(order=order, lines=lines)


def _release_line_reservations(lines: Iterable[OrderLine]) -> None:
    """Locks the stock levels first, in key order, as brokering does (no deadlock)."""
    lines = list(lines)
    stock_levels_lock_reserved(
        owner_type="order_line", owner_ids=[line.pk for line in lines]
    )
    for line in lines:
        reservations_release(owner_type="order_line", owner_id=str(line.pk))


# Money --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MoneyReleased:
    voided: Decimal
    refunded: Decimal


def order_credit_account(order: Order):
    """The payment account that still holds a replacement order's exchange credit:
    the replaced order's, where the returned items' value stayed captured."""
    if not order.exchange_credit or order.replacement_of_id is None:
        return None
    return payment_account_for_owner(
        owner_type="order", owner_id=str(order.replacement_of_id)
    )


def _own_and_credit(order: Order, account, amount: Decimal) -> tuple[Decimal, Decimal]:
    """Split money given back on `order` into what its own payment gives back
    (first, up to what it still holds) and what goes back from the exchange credit
    of a replacement order (refunded on the replaced order's payment)."""
    if order_credit_account(order) is None:
        return amount, ZERO
    held = (
        account.authorized_amount - account.voided_amount - account.refunded_amount
        if account is not None
        else ZERO
    )
    own = min(amount, max(held, ZERO))
    return own, min(amount - own, order.exchange_credit)


def order_refundable(order: Order) -> Decimal:
    """What may still be refunded for `order`: its own captured payment, and for a
    replacement order also its exchange credit on the replaced order's payment."""
    account = order_account(order)
    own = payment_account_refundable(account=account) if account else ZERO
    source = order_credit_account(order)
    if source is None:
        return own
    return own + min(order.exchange_credit, payment_account_refundable(account=source))


def _refund_credit(
    *, order: Order, amount: Decimal, key: str, reference: str, asynchronous=False
) -> None:
    if amount > 0:
        payment_refund(
            account=order_credit_account(order),
            amount=amount,
            idempotency_key=f"{key}-credit-refund",
            reference=reference,
            asynchronous=asynchronous,
        )


def _release_money(
    *, order: Order, account, amount: Decimal, key: str, whole: bool
) -> MoneyReleased:
    """Give `amount` back the way the stage requires: void what is still only
    authorized, refund what was captured; what a replacement order's own payment
    no longer holds comes back from its exchange credit. Cancelling the `whole`
    order also gives up an authorization that is still pending (a provider timeout
    awaiting its retry) or failed, so no retry authorizes money for it later;
    cancelling part of it then is a 409 (the pending amount is the whole order's)."""
    if whole and account is not None:
        payment_authorization_cancel(
            account=account, reason=f"Order {order.number} cancelled."
        )
    if amount <= 0:
        return MoneyReleased(ZERO, ZERO)
    amount, from_credit = _own_and_credit(order, account, amount)
    _refund_credit(order=order, amount=from_credit, key=key, reference=order.number)
    if amount <= 0:
        return MoneyReleased(ZERO, from_credit)
    if account is None or account.status == "pending_authorization":
        raise Conflict(
            "The payment authorization is still pending; try again once it is "
            "settled, or cancel the whole order.",
            code=errors.PAYMENT_PENDING,
        )
    if account.authorized_amount == 0:
        # Never authorized (declined for good, or given up above): nothing to give
        # back.
        return MoneyReleased(ZERO, ZERO)
    uncaptured = (
        account.authorized_amount - account.captured_amount - account.voided_amount
    )
    void = min(amount, max(uncaptured, ZERO))
    refund = amount - void
    if void:
        payment_void(
            account=account,
            amount=void,
            idempotency_key=f"{key}-void",
            reason=order.number,
        )
    if refund:
        payment_refund(
            account=account,
            amount=refund,
            idempotency_key=f"{key}-refund",
            reference=order.number,
        )
    return MoneyReleased(void, refund + from_credit)


def _authorize_more(*, order: Order, account, amount: Decimal, key: str) -> None:
    """Authorize `amount` more on the order's payment. An order with no payment of
    its own (taken free of charge, or a replacement its credit paid for) has no
    card to ask: a conflict, and nothing changes."""
    if account is None:
        raise Conflict(
            f"Order {order.number} has no payment of its own to authorize "
            f"{quantize(amount, order.currency)} {order.currency} more on.",
            code=errors.PAYMENT_PENDING,
        )
    payment_authorize(account=account, amount=amount, idempotency_key=key)


# Approval -----------------------------------------------------------------------------


def _payment_failures(account) -> list[str]:
    if account is None or account.status not in AUTHORIZED_STATUSES:
        return ["Payment is not authorized yet."]
    if (
        account.authorization_expires_at
        and account.status == "authorized"
        and account.authorization_expires_at <= timezone.now()
    ):
        return ["Payment authorization has expired."]
    return []


def _credited(order: Order) -> Decimal:
    """What cancellations and swaps have credited back on the order (lines and
    shipping)."""
    lines = order.lines.aggregate(total=Sum("credited_amount"))["total"] or ZERO
    return lines + order.shipping_credited


def _value_above_limit(order: Order) -> Decimal | None:
    """The order's value when it is above its channel's limit: its total less what
    was credited back, so a CSR can bring a held order under the limit by
    cancelling items. The lines are read only for an order whose total is above
    the limit."""
    limit = order.channel.order_value_limit
    if limit is None or order.total <= limit:
        return None
    value = order.total - _credited(order)
    return value if value > limit else None


def _payment_to_check(order: Order) -> bool:
    """Whether the order has a payment of its own to check. A replacement wholly
    paid by the items returned has none; nor has one whose own part was all
    cancelled (its own money goes back first), which the credit now pays."""
    if not order.amount_to_pay:
        return False
    return not order.exchange_credit or order.amount_to_pay > _credited(order)


def approval_failures(*, order: Order, account) -> list[str]:
    """The approval rules of the order's channel that fail now (empty: approved)."""
    channel = order.channel
    failures = _payment_failures(account) if _payment_to_check(order) else []
    value = _value_above_limit(order)
    if value is not None:
        value, limit = (
            quantize(amount, order.currency)
            for amount in (value, channel.order_value_limit)
        )
        failures.append(f"Order value {value} is above the limit {limit}.")
    email = order.customer_email.lower()
    if email and email in {e.lower() for e in channel.blocked_emails}:
        failures.append(f"Customer email {order.customer_email} is blocked.")
    domain = email.rpartition("@")[2]
    if domain and domain in {d.lower().lstrip("@") for d in channel.blocked_domains}:
        failures.append(f"Email domain {domain} is blocked.")
    if (
        channel.fraud_score_limit is not None
        and order.fraud_score is not None
        and order.fraud_score > channel.fraud_score_limit
    ):
        failures.append(
            f"Fraud score {order.fraud_score} is above the limit "
            f"{channel.fraud_score_limit}."
        )
    return failures


def _hold(*, order: Order, reasons: list[str], actor, by_rules: bool = False) -> Order:
    """Put a created or opened order on hold (out of its queue) with the reasons;
    an order already held or in fulfillment keeps its state and gains the reasons,
    which the page shows. Only a hold wholly `by_rules` (the approval rules) is
    lifted by the periodic re-check. Records `order.held` and runs the on-hold
    steps."""
    entering = can_proceed(order.hold)
    if entering:
        apply_transition(
            order, "hold", actor=actor, reason="; ".join(reasons), reasons=reasons
        )
        order.held_by_rules = by_rules
    else:
        order.hold_reasons = [*order.hold_reasons, *reasons]
        order.held_by_rules = order.held_by_rules and by_rules
    order.save(update_fields=[*HOLD_FIELDS, "updated_at"])
    record_event("order.held", order, {"number": order.number, "reasons": reasons})
    if entering:
        run_stage(orders=[order], stage=WorkflowStage.ON_HOLD, actor=actor)
    return order


def order_hold_for_review(*, order: Order, reason: str, actor) -> Order:
    """Hold a created or opened order for review (a workflow step's decision);
    the caller's transaction holds the order's row."""
    return _hold(order=order, reasons=[reason], actor=actor)


def open_or_hold(*, order: Order, account, actor) -> Order:
    """Run the approval rules on a created order: pass → opened and queued for
    routing (`order.opened`); fail → on_hold with the reasons (`order.held`).
    The caller holds the order's lock inside its transaction."""
    failures = approval_failures(order=order, account=account)
    if failures:
        return _hold(order=order, reasons=failures, actor=actor, by_rules=True)
    apply_transition(order, "open", actor=actor, reason="Grace period over; approved.")
    order.queue = order.routing_queue
    order.save(update_fields=["status", "queue", "hold_reasons", "updated_at"])
    record_event("order.opened", order, {"number": order.number, "queue": order.queue})
    run_stage(orders=[order], stage=WorkflowStage.OPENED, actor=actor)
    _route_pickup(order)
    return order


def _route_pickup(order: Order) -> None:
    """A BOPIS order goes straight to its pickup store, without brokering."""
    if order.flow == Order.Flow.BOPIS and order.queue == Order.Queue.BROKERING:
        from orders.routing.services import pickup_route

        pickup_route(order=order)


def pos_complete(*, order: Order, lines: list[OrderLine], account) -> Order:
    """A POS sale is paid and handed over at the till: take the units from the
    store's stock, capture it all (a free sale has no payment) and complete the
    order (`order.completed`).

    Stock first, money last: a sale the store cannot supply fails before anything is
    captured, and a capture the gateway refuses rolls the stock movement back. A
    capture that only timed out stays pending and is retried by payments."""
    for line in lines:
        stock_ship_unreserved(
            location=order.pickup_location,
            product=line.product,
            quantity=line.quantity,
            reference=order.number,
        )
        line.quantity_fulfilled, line.quantity_open = line.quantity, 0
    if account is not None:
        _pos_capture(order=order, account=account)
    OrderLine.objects.bulk_update(lines, ["quantity_fulfilled", "quantity_open"])
    apply_transition(order, "complete", reason="Point-of-sale order handed over.")
    order.save(update_fields=["status", "queue", "updated_at"])
    record_event(
        "order.completed", order, {"number": order.number, "order_type": "pos"}
    )
    run_stage(orders=[order], stage=WorkflowStage.COMPLETED)
    return order


def _pos_capture(*, order: Order, account) -> None:
    captures = payment_capture(
        account=account,
        amount=order.total,
        idempotency_key=f"order-{order.pk}-pos-capture",
        reference=order.number,
    )
    for capture in captures:
        if capture.status == capture.Status.FAILED:
            raise PaymentDeclined(f"The payment could not be captured: {capture.error}")


def order_open(*, order_id: int) -> Order | None:
    """Open one created order whose grace period is over (the sweep's unit of work).
    Skips an order someone holds the lock of, or that is no longer due."""
    with transition_atomic():
        order = (
            Order.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("channel")
            .filter(
                pk=order_id,
                status=Order.Status.CREATED,
                grace_period_ends_at__lte=timezone.now(),
            )
            .first()
        )
        if order is None:
            return None
        return open_or_hold(order=order, account=order_account(order), actor=None)


def orders_open_due(*, limit: int = SWEEP_BATCH) -> int:
    """Sweep: open (or hold) created orders whose grace period has ended. Each order
    is its own transaction; a locked one is skipped and taken on the next run."""
    due = list(
        Order.objects.filter(
            status=Order.Status.CREATED, grace_period_ends_at__lte=timezone.now()
        )
        .order_by("grace_period_ends_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(1 for pk in due if _open_logged(pk) is not None)


def _open_logged(order_id: int) -> Order | None:
    """One order of the sweep: a workflow step that refuses the opening leaves the
    order created (and is logged), without stopping the sweep."""
    try:
        return order_open(order_id=order_id)
    except WorkflowStepFailed as exc:
        logger.warning("Order %s not opened: %s", order_id, exc.message)
        return None


def orders_recheck_on_hold(*, batch: int = SWEEP_BATCH) -> int:
    """Sweep: approve the orders held by the approval rules once the rules pass
    (payment authorized after a retry, limits changed), every such order, oldest
    first, `batch` ids at a time. Holds for review or after a failed
    re-authorization are left to a CSR. Locked orders are skipped."""
    approved, after = 0, 0
    held = Order.objects.filter(status=Order.Status.ON_HOLD, held_by_rules=True)
    while ids := list(
        held.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:batch]
    ):
        approved += sum(_approve_if_rules_pass(pk) for pk in ids)
        after = ids[-1]
    return approved


def _approve_if_rules_pass(order_id: int) -> bool:
    with transition_atomic():
        order = (
            Order.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("channel")
            .filter(pk=order_id, status=Order.Status.ON_HOLD, held_by_rules=True)
            .first()
        )
        if order is None or approval_failures(
            order=order, account=order_account(order)
        ):
            return False
        _approve(order=order, actor=None, comment="Approval rules pass on recheck.")
        return True


def orders_reauthorize_expiring(*, within: timedelta) -> int:
    """Sweep: re-authorize the payments of orders still to be shipped whose
    authorization lapses within `within`; a failure puts the order on hold with the
    reason, once. Orders locked by someone else, and accounts whose remainder is
    all in captures or voids under way, are skipped until the next run."""
    handled = 0
    for account in payment_accounts_expiring(within=within):
        if account.owner_type != "order":
            continue
        with transaction.atomic():
            order = (
                Order.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("channel")
                .filter(
                    pk=int(account.owner_id),
                    status__in=[
                        Order.Status.CREATED,
                        Order.Status.OPENED,
                        Order.Status.ON_HOLD,
                        Order.Status.IN_FULFILLMENT,
                    ],
                )
                .first()
            )
            if order is None:
                continue
            try:
                with transaction.atomic():
                    payment_reauthorize(
                        account=account,
                        idempotency_key=_key(
                            order, "reauthorize", account.authorization_expires_at
                        ),
                    )
            except PaymentDeclined as exc:
                # A decline is replayed on every run until the expiry passes.
                reason = f"Re-authorization of the payment failed: {exc.message}"
                if reason not in order.hold_reasons:
                    _hold(order=order, reasons=[reason], actor=None)
            except Conflict as exc:
                logger.info("Order %s not re-authorized: %s", order.number, exc)
                continue
            handled += 1
    return handled


def _approve(*, order: Order, actor, comment: str) -> Order:
    apply_transition(order, "approve", actor=actor, reason=comment)
    order.queue = order.routing_queue
    order.save(update_fields=[*HOLD_FIELDS, "updated_at"])
    record_event(
        "order.approved",
        order,
        {
            "number": order.number,
            "queue": order.queue,
            "by": actor_name(actor),
            "comment": comment,
        },
    )
    run_stage(orders=[order], stage=WorkflowStage.OPENED, actor=actor)
    _route_pickup(order)
    return order


def order_approve(
    *, order: Order, actor, comment: str, expected_version: str | None = None
) -> Order:
    """Approve a held order by hand (a CSR's decision, with a comment): on_hold →
    opened, into its queue. A comment is required. NOWAIT lock; with
    `expected_version`, 409 `order_changed` if the order moved on since (a new hold
    reason, say)."""
    if not comment.strip():
        raise ApplicationError(
            "Say why the order is approved.",
            code="comment_required",
            field_errors={"comment": ["A comment is required."]},
        )
    with transition_atomic():
        order = lock_order(order_id=order.pk)
        _require_version(order, expected_version)
        return _approve(order=order, actor=actor, comment=comment.strip())


# Cancellation -------------------------------------------------------------------------


def _take_units(line: OrderLine, units: int) -> bool:
    """Move `units` of a line to cancelled, open units first. Returns whether
    allocated units were touched: their reservations go, and the rest of the line's
    allocated units return to open for routing to place again."""
    from_open = min(units, line.quantity_open)
    from_allocated = units - from_open
    line.quantity_open -= from_open
    line.quantity_cancelled += units
    if from_allocated:
        line.quantity_open += line.quantity_allocated - from_allocated
        line.quantity_allocated = 0
    return bool(from_allocated)


LINE_MONEY_FIELDS = [
    "quantity_open",
    "quantity_allocated",
    "quantity_cancelled",
    "credited_amount",
]


def _cancel_units(
    *, order: Order, units: dict[int, int], whole: bool, key: str
) -> tuple[RefundPlan, MoneyReleased, list[OrderLine]]:
    """Cancel `units` per line id of a locked order and give their money back
    (shipping too when that cancels the `whole` order). Returns the plan, the
    money moved and the lines whose allocation was undone."""
    lines = {line.pk: line for line in order.locked_lines}
    plan = cancellation_plan(
        order_amounts(order, lines.values()), units, include_shipping=whole
    )
    reallocate = []
    for line_id, count in units.items():
        line = lines[line_id]
        if _take_units(line, count):
            reallocate.append(line)
        line.credited_amount += plan.lines.get(line_id, ZERO)
    changed = [lines[line_id] for line_id in units]
    OrderLine.objects.bulk_update(changed, LINE_MONEY_FIELDS)
    if plan.shipping:
        order.shipping_credited += plan.shipping
    money = _release_money(
        order=order,
        account=order_account(order),
        amount=plan.total,
        key=key,
        whole=whole,
    )
    if reallocate:
        fulfillment_requests_withdraw(order=order, lines=reallocate)
        _release_line_reservations(reallocate)
    return plan, money, reallocate


def _require_changeable(order: Order) -> None:
    if not can_proceed(order.cancel):
        raise Conflict(
            f"Order {order.number} is {order.get_status_display().lower()}; "
            "it can no longer be changed.",
            code=errors.ORDER_NOT_CHANGEABLE,
            extra={"current_state": order.status},
        )


def require_cancellable(*, order: Order, lines: Iterable[OrderLine]) -> None:
    """Raise the 409 that `order_cancel` gives when the whole order cannot be
    cancelled now (part shipped, completed, cancelled); dry runs ask it too."""
    if any(line.quantity_fulfilled or line.quantity_returned for line in lines):
        raise Conflict(
            "Part of this order has shipped; cancel the remaining items, and "
            "return what has shipped.",
            code=errors.ALREADY_SHIPPED,
        )
    _require_changeable(order)


def _units_left(lines: Iterable[OrderLine]) -> dict[int, int]:
    """Per line id, the units a whole-order cancellation cancels."""
    return {
        line.pk: line.quantity_cancellable
        for line in lines
        if line.quantity_cancellable
    }


def order_cancel_gives_back(
    *, order: Order, lines: list[OrderLine], account
) -> Decimal:
    """What cancelling the whole order now gives back to the customer, as
    `order_cancel` moves it: every unit left and the shipping, by the refund
    calculator; nothing of a payment that never held money (an authorization
    still pending, or declined, is given up instead)."""
    plan = cancellation_plan(
        order_amounts(order, lines), _units_left(lines), include_shipping=True
    )
    own, from_credit = _own_and_credit(order, account, plan.total)
    if account is None or not account.authorized_amount:
        own = ZERO
    return own + from_credit


def order_cancel(
    *, order: Order, actor, reason: str, expected_version: str | None = None
) -> Order:
    """Cancel the whole order before anything ships: every open or allocated unit is
    cancelled, reservations released, fulfillment withdrawn, the authorization
    voided and captured money refunded (shipping included) → `order.cancelled`.

    409 when part of it has shipped (that part is returned instead) or the order is
    completed or cancelled already. NOWAIT lock on the order row.
    `expected_version`: see `_require_version`."""
    with transition_atomic():
        order = lock_order(order_id=order.pk)
        _require_version(order, expected_version)
        require_cancellable(order=order, lines=order.locked_lines)
        units = _units_left(order.locked_lines)
        plan, money, _ = _cancel_units(
            order=order,
            units=units,
            whole=True,
            key=_key(order, "cancel", sorted(units.items())),
        )
        apply_transition(order, "cancel", actor=actor, reason=reason)
        order.save(update_fields=["status", "queue", "shipping_credited", "updated_at"])
        record_event(
            "order.cancelled",
            order,
            {
                "number": order.number,
                "reason": reason,
                "by": actor_name(actor),
                "amount_voided": money.voided,
                "amount_refunded": money.refunded,
                "lines": [
                    {
                        "line_id": pk,
                        "quantity": count,
                        "amount": plan.lines.get(pk, ZERO),
                    }
                    for pk, count in units.items()
                ],
                "shipping_amount": plan.shipping,
            },
        )
        run_stage(orders=[order], stage=WorkflowStage.CANCELLED, actor=actor)
        return order


def _validated_units(order: Order, quantities: dict[int, int]) -> dict[int, int]:
    lines = {line.pk: line for line in order.locked_lines}
    field_errors: dict[str, list[str]] = {}
    shipped = False
    for line_id, count in quantities.items():
        line = lines.get(line_id)
        if line is None:
            field_errors[str(line_id)] = ["Not a line of this order."]
        elif not isinstance(count, int) or count <= 0:
            field_errors[str(line_id)] = ["Give a quantity greater than zero."]
        elif count > line.quantity_cancellable:
            shipped = (
                shipped or count <= line.quantity_cancellable + line.quantity_fulfilled
            )
            field_errors[str(line_id)] = [
                f"Only {line.quantity_cancellable} of {line.sku} can still be "
                "cancelled."
            ]
    if shipped:
        raise Conflict(
            "Some of these units have shipped; they can only be returned.",
            code=errors.ALREADY_SHIPPED,
            field_errors=field_errors,
        )
    if field_errors or not quantities:
        raise ApplicationError(
            "Choose lines of this order and quantities that can still be cancelled.",
            code=errors.INVALID_QUANTITIES,
            field_errors=field_errors or {"quantities": ["Choose at least one line."]},
        )
    return dict(quantities)


def nothing_left_after(*, lines: Iterable[OrderLine], units: dict[int, int]) -> bool:
    """Whether cancelling `units` per line id leaves nothing to deliver or keep:
    then the cancellation is the whole order's and shipping is given back too."""
    return all(
        line.quantity_cancellable == units.get(line.pk, 0)
        and not line.quantity_fulfilled
        and not line.quantity_returned
        for line in lines
    )


def _back_to_routing(order: Order) -> None:
    """Open units again (a swap, a released allocation): the order waits in
    `brokering`, also when other lines are already with a location."""
    if order.status in (Order.Status.OPENED, Order.Status.IN_FULFILLMENT):
        order.queue = Order.Queue.BROKERING


def order_complete_if_done(order: Order, *, actor) -> None:
    """An order in fulfillment whose every unit is fulfilled, cancelled or returned
    is complete (`order.completed`)."""
    if order.status != Order.Status.IN_FULFILLMENT or any(
        line.quantity_cancellable for line in order.locked_lines
    ):
        return
    apply_transition(order, "complete", actor=actor, reason="Nothing left to fulfill.")
    record_event("order.completed", order, {"number": order.number})
    run_stage(orders=[order], stage=WorkflowStage.COMPLETED, actor=actor)
    order_mark_returned_if_done(order, actor=actor, reason="Nothing left to fulfill.")


def order_mark_returned_if_done(order: Order, *, actor, reason: str) -> None:
    """A completed order whose every shipped unit has come back (nothing left to
    deliver or with the customer) is `returned` (`order.returned`). The caller
    holds the order lock and saves `status`."""
    lines = order.locked_lines
    if (
        order.status != Order.Status.COMPLETED
        or not any(line.quantity_returned for line in lines)
        or any(
            line.quantity_open or line.quantity_allocated or line.quantity_fulfilled
            for line in lines
        )
    ):
        return
    apply_transition(order, "mark_returned", actor=actor, reason=reason)
    record_event(
        "order.returned",
        order,
        {
            "number": order.number,
            "units_returned": sum(line.quantity_returned for line in lines),
            "reason": reason,
        },
    )


def order_lines_cancel(
    *,
    order: Order,
    quantities: dict[int, int],
    actor,
    reason: str,
    expected_version: str | None = None,
) -> RefundPlan:
    """Cancel chosen quantities of chosen lines (by line id) before they ship:
    `order.items_cancelled` per line with the money voided or refunded for it.
    Open units go first; touching allocated units releases the line's reservation
    and sends the line back to routing. Cancelling everything left cancels the order
    (shipping included, `order.cancelled`). Shipped units: 409. NOWAIT lock.
    `expected_version`: see `_require_version`."""
    with transition_atomic():
        order = lock_order(order_id=order.pk)
        _require_version(order, expected_version)
        _require_changeable(order)
        units = _validated_units(order, quantities)
        whole = nothing_left_after(lines=order.locked_lines, units=units)
        plan, money, reallocated = _cancel_units(
            order=order,
            units=units,
            whole=whole,
            key=_key(
                order,
                "cancel-items",
                sorted(units.items()),
                [(line.pk, line.quantity_cancelled) for line in order.locked_lines],
            ),
        )
        lines = {line.pk: line for line in order.locked_lines}
        for line_id, count in units.items():
            record_event(
                "order.items_cancelled",
                order,
                {
                    "number": order.number,
                    "line_id": line_id,
                    "sku": lines[line_id].sku,
                    "quantity": count,
                    "amount": plan.lines.get(line_id, ZERO),
                    "currency": order.currency,
                    "reason": reason,
                    "by": actor_name(actor),
                },
            )
        if whole:
            apply_transition(order, "cancel", actor=actor, reason=reason)
            record_event(
                "order.cancelled",
                order,
                {
                    "number": order.number,
                    "reason": reason,
                    "by": actor_name(actor),
                    "amount_voided": money.voided,
                    "amount_refunded": money.refunded,
                    "shipping_amount": plan.shipping,
                },
            )
            run_stage(orders=[order], stage=WorkflowStage.CANCELLED, actor=actor)
        else:
            # Allocated units that were not cancelled are open again: routing must
            # place them. A line cancelled whole leaves nothing to place.
            if any(line.quantity_open for line in reallocated):
                _back_to_routing(order)
            order_complete_if_done(order, actor=actor)
        order.save(update_fields=["status", "queue", "shipping_credited", "updated_at"])
        return plan


# Returns -----------------------------------------------------------------------------


def order_lines_return(
    *,
    order: Order,
    quantities: dict[int, int],
    include_shipping: bool,
    actor,
    reason: str,
    asynchronous_refund: bool = False,
    kept_as_credit: Decimal = ZERO,
) -> RefundPlan:
    """Take back shipped units (for the returns app, inside its own transaction):
    `quantities` per line id move from fulfilled to returned, their amounts (from
    the refund calculator, shipping too when `include_shipping`) are credited to the
    lines and refunded (by a task after commit with `asynchronous_refund`), less
    `kept_as_credit`: the part that pays for a replacement order instead. When
    nothing shipped is left with the customer, a completed order becomes
    `returned`. Units not shipped: 400 `invalid_quantities`. Locks the order row
    and waits for it (a return is not a race between two people)."""
    with transaction.atomic():
        order = lock_order(order_id=order.pk, nowait=False)
        lines = {line.pk: line for line in order.locked_lines}
        field_errors = {
            str(pk): [f"Only {lines[pk].quantity_fulfilled} shipped units to return."]
            if pk in lines
            else ["Not a line of this order."]
            for pk, count in quantities.items()
            if pk not in lines or not 0 < count <= lines[pk].quantity_fulfilled
        }
        if field_errors or not quantities:
            raise ApplicationError(
                "Choose shipped units of this order to return.",
                code=errors.INVALID_QUANTITIES,
                field_errors=field_errors or {"quantities": ["Choose a line."]},
            )
        plan = return_plan(
            order_amounts(order, lines.values()),
            quantities,
            include_shipping=include_shipping,
        )
        key = _key(
            order,
            "return",
            sorted(quantities.items()),
            [(line.pk, line.quantity_returned) for line in lines.values()],
        )
        for pk, count in quantities.items():
            line = lines[pk]
            line.quantity_fulfilled -= count
            line.quantity_returned += count
            line.credited_amount += plan.lines[pk]
        OrderLine.objects.bulk_update(
            [lines[pk] for pk in quantities],
            ["quantity_fulfilled", "quantity_returned", "credited_amount"],
        )
        if not ZERO <= kept_as_credit <= plan.total:
            raise ValueError(f"{kept_as_credit} kept of {plan.total} returned")
        order.shipping_credited += plan.shipping
        order_mark_returned_if_done(order, actor=actor, reason=reason)
        order.save(update_fields=["shipping_credited", "status", "updated_at"])
        account = order_account(order)
        own, from_credit = _own_and_credit(order, account, plan.total - kept_as_credit)
        if own:
            payment_refund(
                account=account,
                amount=own,
                idempotency_key=f"{key}-refund",
                reference=reason or order.number,
                asynchronous=asynchronous_refund,
            )
        _refund_credit(
            order=order,
            amount=from_credit,
            key=key,
            reference=reason or order.number,
            asynchronous=asynchronous_refund,
        )
        return plan


# Item swap ----------------------------------------------------------------------------


def order_items_swap(
    *,
    order: Order,
    line_id: int,
    new_sku: str,
    quantity: int,
    new_unit_price: Decimal | None = None,
    actor,
    reason: str,
    expected_version: str | None = None,
) -> OrderLine:
    """Replace `quantity` units of a line by another SKU (a new line; the old units
    are cancelled): `order.items_swapped`, reservations released, the order back to
    routing. The new line keeps the old discount and tax rates; a price difference
    is authorized first when dearer (a decline refuses the swap and changes
    nothing) or voided/refunded when cheaper. NOWAIT lock. `expected_version`: see
    `_require_version`."""
    with transaction.atomic():
        order = lock_order(order_id=order.pk)
        _require_version(order, expected_version)
        _require_changeable(order)
        line = next((item for item in order.locked_lines if item.pk == line_id), None)
        if line is None:
            raise ApplicationError(
                "Not a line of this order.",
                code=errors.INVALID_SWAP,
                field_errors={"line_id": ["Not a line of this order."]},
            )
        try:
            _validated_units(order, {line_id: quantity})
        except ApplicationError as exc:
            # The units are the swap's `quantity` field.
            exc.field_errors = {
                "quantity": [
                    m for messages in exc.field_errors.values() for m in messages
                ]
            }
            raise
        product = products_by_sku(skus=[new_sku]).get(new_sku)
        field_errors = {}
        if product is None or not product.active:
            field_errors["new_sku"] = [f"Unknown or inactive SKU {new_sku!r}."]
        elif new_sku == line.sku:
            field_errors["new_sku"] = ["Choose a different SKU."]
        price = line.unit_price if new_unit_price is None else new_unit_price
        if price < 0 or price > LARGEST_AMOUNT:
            field_errors["new_unit_price"] = [f"A price from 0 to {LARGEST_AMOUNT}."]
        elif quantize(price, order.currency) != price:
            field_errors["new_unit_price"] = [f"A price in {order.currency}."]
        if field_errors:
            raise ApplicationError(
                "The swap is not valid.",
                code=errors.INVALID_SWAP,
                field_errors=field_errors,
            )
        amounts = line_swap_amounts(
            order=order, line=line, units=quantity, new_unit_price=price
        )
        if order.total + amounts.new_payable > LARGEST_AMOUNT:
            # Checked before any money moves: the provider must not authorize an
            # amount the order's columns cannot hold.
            raise ApplicationError(
                "The swap is not valid.",
                code=errors.INVALID_SWAP,
                field_errors={
                    "new_unit_price": [
                        "The order's total would be more than the largest amount "
                        f"an order holds ({LARGEST_AMOUNT})."
                    ]
                },
            )
        account = order_account(order)
        key = _key(
            order, "swap", line.pk, line.quantity_cancelled, new_sku, quantity, price
        )
        difference = amounts.difference
        if difference > 0:
            _authorize_more(
                order=order, account=account, amount=difference, key=f"{key}-authorize"
            )
        elif difference < 0:
            _release_money(
                order=order,
                account=account,
                amount=-difference,
                key=key,
                whole=False,
            )
        touched_allocation = _take_units(line, quantity)
        line.credited_amount += amounts.old_amount
        line.save(update_fields=LINE_MONEY_FIELDS)
        new_line = OrderLine.objects.create(
            order=order,
            position=max(item.position for item in order.locked_lines) + 1,
            product=product,
            sku=new_sku,
            quantity=quantity,
            unit_price=price,
            discount=amounts.new_discount,
            tax=amounts.new_tax,
            quantity_open=quantity,
            swapped_from=line,
        )
        if touched_allocation:
            fulfillment_requests_withdraw(order=order, lines=[line])
            _release_line_reservations([line])
        order.total = F("total") + amounts.new_payable
        _back_to_routing(order)
        order.save(update_fields=["total", "queue", "updated_at"])
        order.refresh_from_db(fields=["total"])
        record_event(
            "order.items_swapped",
            order,
            {
                "number": order.number,
                "from_line_id": line.pk,
                "from_sku": line.sku,
                "to_line_id": new_line.pk,
                "to_sku": new_sku,
                "quantity": quantity,
                "unit_price": quantize(price, order.currency),
                "price_difference": difference,
                "currency": order.currency,
                "reason": reason,
                "by": actor_name(actor),
            },
        )
        return new_line


# Edit during the grace period ---------------------------------------------------------


def lines_not_replaceable(*, order: Order, lines: Iterable[OrderLine]) -> str:
    """Why an edit cannot replace the order's `lines` (all of them); empty when it
    can. The grace period is checked apart."""
    if order.flow == Order.Flow.REPLACEMENT:
        return (
            f"The lines of replacement order {order.number} come from its return; "
            "cancel it and exchange again instead."
        )
    if any(line.quantity_cancelled or line.swapped_from_id for line in lines):
        # Replacing them would erase what was cancelled or swapped, and the money
        # already given back with it.
        return (
            f"Items of order {order.number} were cancelled or swapped; its lines "
            "can no longer be replaced. Cancel or swap items instead."
        )
    return ""


def order_update(
    *, order: Order, actor, lines=None, expected_version: str | None = None, **changes
) -> Order:
    """Edit an order during its grace period: contact, address, shipping method,
    notes, and the lines (a list of `orders.intake.LineInput` replacing them all;
    the authorization follows the new total: more is authorized first, less is
    voided; 409 once items were cancelled or swapped). After the grace period: 409
    `grace_period_over`. NOWAIT lock. `expected_version`: see `_require_version`."""
    from orders.intake import OrderInput, build_order, intake_errors, intake_lookups

    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ApplicationError(
            "These fields cannot be edited.",
            code=errors.INVALID_ORDER,
            field_errors={name: ["Not editable."] for name in sorted(unknown)},
        )
    with transaction.atomic():
        order = lock_order(order_id=order.pk)
        _require_version(order, expected_version)
        if not order.in_grace_period:
            raise Conflict(
                f"Order {order.number} is past its grace period and can no longer be "
                "edited.",
                code=errors.GRACE_PERIOD_OVER,
            )
        refusal = lines is not None and lines_not_replaceable(
            order=order, lines=order.locked_lines
        )
        if refusal:
            raise Conflict(refusal, code=errors.ORDER_NOT_CHANGEABLE)
        for name, value in changes.items():
            setattr(order, name, value)
        fields = [*changes, "updated_at"]
        if lines is not None:
            data = OrderInput(
                channel=order.channel.code,
                external_id=order.external_id,
                currency=order.currency,
                lines=list(lines),
                order_type=order.order_type_id,
                pickup_location=order.pickup_location.code
                if order.pickup_location
                else "",
                shipping_price=order.shipping_price,
                shipping_tax=order.shipping_tax,
                discount=order.discount,
            )
            lookups = intake_lookups([data])
            field_errors = intake_errors(data, lookups)
            if field_errors:
                raise ApplicationError(
                    "The new lines are not valid.",
                    code=errors.INVALID_ORDER,
                    field_errors=field_errors,
                )
            rebuilt = build_order(data, lookups, order.created_at)
            difference = rebuilt.order.total - order.total
            account = order_account(order)
            key = _key(
                order, "edit", order.total, rebuilt.order.total, order.updated_at
            )
            if difference > 0:
                _authorize_more(
                    order=order, account=account, amount=difference, key=key
                )
            elif difference < 0:
                _release_money(
                    order=order,
                    account=account,
                    amount=-difference,
                    key=key,
                    whole=False,
                )
            order.lines.all().delete()
            for line in rebuilt.lines:
                line.order = order
            OrderLine.objects.bulk_create(rebuilt.lines)
            order.total = rebuilt.order.total
            fields.append("total")
        order.save(update_fields=fields)
        record_event(
            "order.updated",
            order,
            {
                "number": order.number,
                "fields": sorted(
                    set(changes) | ({"lines"} if lines is not None else set())
                ),
                "total": quantize(order.total, order.currency),
                "by": actor_name(actor),
            },
        )
        return order


# Channels -----------------------------------------------------------------------------


def channel_create(*, code: str, name: str, **settings) -> Channel:
    """A sales channel with its rules (grace period, approval limits, returns)."""
    if Channel.objects.filter(code=code).exists():
        raise Conflict(
            f"A channel with code {code} exists.",
            code="duplicate_channel",
            field_errors={"code": ["Already exists."]},
        )
    return Channel.objects.create(code=code, name=name, **settings)
