"""Replacement orders: what an exchange sends the customer instead of refunding the
items they returned.

A replacement is an order of type `replacement` in the returned order's channel,
for its customer and address, whose external id is the RMA number. Its lines are
priced as a swap prices a new line (the returned line's discount and tax rates), so
the same SKU back at the same price is worth exactly what the returned units were.
The returned value that pays for it is its `exchange_credit`; only the rest (a
dearer replacement) is authorized, on the original order's payment method, as any
order's payment is at intake. It then lives like any order: grace period, approval,
routing, fulfillment.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from oms.errors import ApplicationError, Conflict
from oms.services.events import record_event
from orders import errors
from orders.intake import (
    LineInput,
    OrderInput,
    build_order,
    intake_errors,
    intake_lookups,
)
from orders.models import Order, OrderLine
from orders.refund_calculator import exchange_amounts
from orders.services import (
    line_amounts,
    open_or_hold,
    order_account,
    order_created_payload,
)
from orders.workflows.models import WorkflowStage
from orders.workflows.runner import run_stage
from payments.services import payment_account_open


@dataclass(frozen=True)
class Replacement:
    """`quantity` units of `sku` at `unit_price` for units of a returned line."""

    sku: str
    quantity: int
    unit_price: Decimal


def replacement_line(
    *, order: Order, line: OrderLine, replacement: Replacement
) -> LineInput:
    """The replacement's order line, priced with `line`'s discount and tax rates
    (read before its units are credited as returned)."""
    amounts = exchange_amounts(
        line=line_amounts(line),
        units=replacement.quantity,
        new_unit_price=replacement.unit_price,
        currency=order.currency,
    )
    return LineInput(
        sku=replacement.sku,
        quantity=replacement.quantity,
        unit_price=replacement.unit_price,
        discount=amounts.new_discount,
        tax=amounts.new_tax,
    )


def line_payable(line: LineInput) -> Decimal:
    return line.quantity * line.unit_price - line.discount + line.tax


def replacement_order_create(
    *,
    order: Order,
    lines: list[LineInput],
    credit: Decimal,
    return_id: int,
    rma_number: str,
) -> Order:
    """Create the replacement of `order`'s returned items (inside the returns
    transaction, which holds `order`'s lock): `credit` of its total is paid by the
    return, the rest is authorized on `order`'s payment method (a decline is a 400
    `payment_declined` and rolls the whole return back). Records `order.created`
    with the return it replaces and runs the `created` steps of the replacement
    workflow; opens the order at once when its channel has no grace period."""
    data = OrderInput(
        channel=order.channel.code,
        external_id=rma_number,
        currency=order.currency,
        lines=lines,
        order_type=Order.Flow.REPLACEMENT,
        customer_name=order.customer_name,
        customer_email=order.customer_email,
        customer_phone=order.customer_phone,
        shipping_address=order.shipping_address,
        shipping_method=order.shipping_method,
        notes=f"Replacement for return {rma_number} of order {order.number}.",
    )
    lookups = intake_lookups([data], with_existing=False)
    field_errors = intake_errors(data, lookups)
    if field_errors:
        raise ApplicationError(
            "The replacement order is not valid.",
            code=errors.INVALID_ORDER,
            field_errors=field_errors,
        )
    prepared = build_order(data, lookups, timezone.now())
    replacement = prepared.order
    replacement.exchange_credit = credit
    replacement.replacement_of = order
    # bulk_create, as intake does: PostgreSQL returns the generated number.
    Order.objects.bulk_create([replacement])
    for line in prepared.lines:
        line.order = replacement
    OrderLine.objects.bulk_create(prepared.lines)
    account = _authorize_difference(order=order, replacement=replacement)
    record_event(
        "order.created",
        replacement,
        {
            **order_created_payload(replacement, prepared.lines),
            "exchange_credit": credit,
            "amount_to_pay": replacement.amount_to_pay,
            "replacement_for": {
                "return_id": return_id,
                "rma_number": rma_number,
                "order_number": order.number,
            },
        },
    )
    run_stage(orders=[replacement], stage=WorkflowStage.CREATED)
    if replacement.grace_period_ends_at <= replacement.created_at:
        open_or_hold(order=replacement, account=account, actor=None)
    return replacement


def _authorize_difference(*, order: Order, replacement: Order):
    """The replacement's own payment account for what the credit does not cover,
    authorized with the original order's payment token; none when nothing is due."""
    if not replacement.amount_to_pay:
        return None
    original = order_account(order)
    if original is None:
        raise Conflict(
            f"Order {order.number} has no payment to authorize the difference on.",
            code=errors.PAYMENT_PENDING,
        )
    return payment_account_open(
        owner_type="order",
        owner_id=str(replacement.pk),
        currency=replacement.currency,
        amount=replacement.amount_to_pay,
        payment_token=original.payment_token,
        channel=order.channel.code,
        owner_is_new=True,
    )
