"""Write use-cases of returns: submit a return, and retry a failed one after a
correction.

A return is checked when it is submitted and again on each retry, in one
transaction that first locks the order row (waiting for it): two returns racing for
the same last unit are checked one after the other, and the second one sees the
unit already returned and fails. Checks that fail leave the return `failed` with
the reasons and move no money and no stock. Checks that pass hand the units to
`orders.services.order_lines_return` (lines credited, the refund made by a payments
task after commit), put resellable units back on the shelf, and record
`return.processed`.

An exchange asks a replacement per item (the same SKU by default). The returned
value pays for the replacement order (`orders.replacements`) instead of being
refunded: the refund is only what the replacement does not use. A replacement
dearer than the whole return's value is not refused: the difference is authorized
on the customer's original payment method, as a swap to a dearer item is, because
a retailer would rather take the extra money than turn an exchange into a refund
and a new sale; a decline refuses the return (400) and writes nothing.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.db import IntegrityError, transaction
from django.utils import timezone

from inventory.models import Location, Product
from inventory.selectors import products_by_sku, user_may_act_at
from inventory.services import stock_levels_lock, stock_restock_return
from oms.errors import ApplicationError, PermissionDenied
from oms.services.events import record_event
from oms.services.transitions import apply_transition
from orders.intake import LineInput
from orders.models import Channel, Order, OrderLine, Shipment
from orders.refund_calculator import RefundPlan, return_plan
from orders.replacements import (
    Replacement,
    line_payable,
    replacement_line,
    replacement_order_create,
)
from orders.services import (
    lock_order,
    order_account,
    order_amounts,
    order_lines_return,
    order_refundable,
)
from payments.money import is_known_currency, quantize
from returns.models import (
    ItemCondition,
    Return,
    ReturnLine,
    ReturnReason,
    ReturnWindow,
)

ZERO = Decimal("0")
FINAL_SALE_TAG = "final_sale"
MAX_ITEMS = 200


@dataclass(frozen=True)
class ReplacementInput:
    """What the customer gets instead of a refund: `sku` (empty: the SKU
    returned), `quantity` (None: as many as returned) at `unit_price` (None: the
    returned line's unit price)."""

    sku: str = ""
    quantity: int | None = None
    unit_price: Decimal | None = None


@dataclass(frozen=True)
class ReturnItemInput:
    """One item to take back: an order line's id, or for a blind return the SKU
    and the unit price the external system charged; optionally its replacement."""

    quantity: int
    reason: str
    condition: str
    order_line_id: int | None = None
    sku: str = ""
    unit_price: Decimal | None = None
    replacement: ReplacementInput | None = None


@dataclass(frozen=True)
class Check:
    check: str
    subject: str
    passed: bool
    detail: str

    def as_dict(self) -> dict:
        return {
            "check": self.check,
            "subject": self.subject,
            "passed": self.passed,
            "detail": self.detail,
        }


# Input --------------------------------------------------------------------------------


def _item_errors(item: ReturnItemInput) -> list[str]:
    errors = []
    if not isinstance(item.quantity, int) or item.quantity <= 0:
        errors.append("Give a quantity greater than zero.")
    if item.reason not in ReturnReason.values:
        errors.append(f"Reason must be one of {', '.join(ReturnReason.values)}.")
    if item.condition not in ItemCondition.values:
        errors.append(f"Condition must be one of {', '.join(ItemCondition.values)}.")
    return errors


class Asked(NamedTuple):
    replacement: Replacement
    product: Product


def _replacement_errors(
    item: ReturnItemInput, asked: Asked | None, currency: str
) -> list[str]:
    if asked is None:
        return [f"Unknown or inactive replacement SKU {item.replacement.sku!r}."]
    replacement, errors = asked.replacement, []
    if not isinstance(replacement.quantity, int) or not (
        0 < replacement.quantity <= item.quantity
    ):
        errors.append("Replace between one unit and the units returned.")
    price = replacement.unit_price
    if price < 0 or quantize(price, currency) != price:
        errors.append(f"Give the replacement's unit price in {currency}.")
    return errors


def _replacements(
    *, lines: dict[int, OrderLine], items: list[ReturnItemInput]
) -> dict[int, Asked | None]:
    """The replacement each item asks for and its product, by index, with the
    defaults filled in (None for an unknown or inactive SKU)."""
    asked = {
        index: item
        for index, item in enumerate(items)
        if item.replacement is not None and item.order_line_id in lines
    }
    skus = {
        index: item.replacement.sku.strip() or lines[item.order_line_id].sku
        for index, item in asked.items()
    }
    known = products_by_sku(skus=set(skus.values()))
    return {
        index: Asked(
            Replacement(
                sku=skus[index],
                quantity=item.quantity
                if item.replacement.quantity is None
                else item.replacement.quantity,
                unit_price=lines[item.order_line_id].unit_price
                if item.replacement.unit_price is None
                else item.replacement.unit_price,
            ),
            known[skus[index]],
        )
        if skus[index] in known and known[skus[index]].active
        else None
        for index, item in asked.items()
    }


def _validated_items(
    *, order: Order | None, lines: list[OrderLine], items: list[ReturnItemInput]
) -> tuple[dict[int, Product], dict[int, Asked]]:
    """Field errors for every bad item at once (400, nothing written). `lines` are
    the order's (none for a blind return). Returns the product of each item and
    the replacements asked, by the item's index."""
    if not items:
        raise ApplicationError(
            "Choose at least one item to return.",
            code="no_items",
            field_errors={"items": ["Choose at least one item."]},
        )
    if len(items) > MAX_ITEMS:
        raise ApplicationError(
            f"At most {MAX_ITEMS} items per return.",
            code="too_many_items",
            field_errors={"items": [f"At most {MAX_ITEMS} items."]},
        )
    if order is not None:
        field_errors, products, replacements = _order_items(order, lines, items)
    else:
        (field_errors, products), replacements = _blind_items(items), {}
    if field_errors:
        raise ApplicationError(
            "Some items cannot be returned as given.",
            code="invalid_items",
            field_errors=field_errors,
        )
    return products, replacements


FieldErrors = dict[str, list[str]]


def _order_items(
    order: Order, lines: list[OrderLine], items: list[ReturnItemInput]
) -> tuple[FieldErrors, dict[int, Product], dict[int, Asked | None]]:
    """Each item names a line of the order once; a replacement asked is valid."""
    field_errors: FieldErrors = {}
    products: dict[int, Product] = {}
    by_id = {line.pk: line for line in lines}
    replacements = _replacements(lines=by_id, items=items)
    seen: set[int] = set()
    for index, item in enumerate(items):
        errors = _item_errors(item)
        if index in replacements:
            replacement_errors = _replacement_errors(
                item, replacements[index], order.currency
            )
            if replacement_errors:
                field_errors[f"items.{index}.replacement"] = replacement_errors
        line = by_id.get(item.order_line_id)
        if line is None:
            errors.append("Not a line of this order.")
        elif item.order_line_id in seen:
            errors.append("Each order line once per return.")
        else:
            seen.add(line.pk)
            products[index] = Product(pk=line.product_id, sku=line.sku)
        if errors:
            field_errors[f"items.{index}"] = errors
    return field_errors, products, replacements


def _blind_items(
    items: list[ReturnItemInput],
) -> tuple[FieldErrors, dict[int, Product]]:
    """Each item of a blind return is a known SKU at a price, with no exchange."""
    field_errors: FieldErrors = {}
    products: dict[int, Product] = {}
    known = products_by_sku(skus=[item.sku for item in items])
    for index, item in enumerate(items):
        errors = _item_errors(item)
        if item.sku not in known:
            errors.append(f"Unknown SKU {item.sku!r}.")
        else:
            products[index] = known[item.sku]
        if item.unit_price is None or item.unit_price < 0:
            errors.append("Give the unit price the customer paid.")
        if item.replacement is not None:
            errors.append(
                "An exchange needs an order of this system; a blind return is "
                "refunded by the external system."
            )
        if errors:
            field_errors[f"items.{index}"] = errors
    return field_errors, products


def _require_location(*, actor, location: Location) -> None:
    if actor is not None and not user_may_act_at(user=actor, location=location):
        raise PermissionDenied(
            f"You do not work at {location.code}; receive returns at your store.",
            code="location_not_allowed",
        )


# Checks -------------------------------------------------------------------------------


def _units(ret: Return) -> dict[int, int]:
    return {
        line.order_line_id: line.quantity
        for line in ret.lines.all()
        if line.line_type == ReturnLine.Type.ITEM
    }


def _last_shipped(order: Order) -> dict[int, datetime]:
    """When each line of the order last left a location (its return window starts
    then); a line sold at the till (no shipment) starts at the order's date."""
    shipped: dict[int, datetime] = {}
    for shipment in Shipment.objects.filter(request__order=order).order_by("id"):
        for entry in shipment.lines:
            shipped[entry["line_id"]] = shipment.created_at
    return shipped


def shipping_refunded_with(
    *, order: Order, lines: Iterable[OrderLine], units: dict[int, int]
) -> bool:
    """Whether returning `units` per line id gives the shipping cost back: the
    channel says so, it was not given back yet, and after these units nothing of
    the order is left with the customer or still to deliver (the last item)."""
    return (
        order.channel.refund_shipping_on_last_return
        and order.shipping_credited < order.shipping_total
        and all(
            not line.quantity_open
            and not line.quantity_allocated
            and line.quantity_fulfilled == units.get(line.pk, 0)
            for line in lines
        )
    )


@dataclass(frozen=True)
class Settlement:
    """The money of a return against an order: the returned value per line (the
    refund calculator's plan, shipping included with the last item), the part of
    it that pays for the replacement order instead of a refund (drawn from the
    exchanged lines first, then the others), and the replacement's lines."""

    plan: RefundPlan
    credits: dict[int, Decimal]
    replacement_lines: list[LineInput]

    @property
    def credit(self) -> Decimal:
        return sum(self.credits.values(), ZERO)

    @property
    def refund(self) -> Decimal:
        return self.plan.total - self.credit

    @property
    def replacement_value(self) -> Decimal:
        return sum((line_payable(line) for line in self.replacement_lines), ZERO)

    @property
    def difference(self) -> Decimal:
        """What the replacement costs beyond the returned value (authorized)."""
        return self.replacement_value - self.credit

    def refund_of(self, line_id: int) -> Decimal:
        return self.plan.lines.get(line_id, ZERO) - self.credits.get(line_id, ZERO)


def return_settlement(
    *,
    order: Order,
    lines: Iterable[OrderLine],
    units: dict[int, int],
    replacements: dict[int, Replacement],
) -> Settlement:
    """What returning `units` per line id, with `replacements` per line id, refunds
    and credits: the one calculation of the preview and of the return itself.
    `lines` are the order's lines before these units are returned."""
    lines = {line.pk: line for line in lines}
    plan = return_plan(
        order_amounts(order, lines.values()),
        units,
        include_shipping=shipping_refunded_with(
            order=order, lines=lines.values(), units=units
        ),
    )
    replacement_lines = [
        replacement_line(order=order, line=lines[pk], replacement=replacement)
        for pk, replacement in replacements.items()
    ]
    left = min(
        sum(plan.lines.values(), ZERO),
        sum((line_payable(line) for line in replacement_lines), ZERO),
    )
    credits = {}
    for pk in sorted(plan.lines, key=lambda pk: pk not in replacements):
        credits[pk] = min(plan.lines[pk], left)
        left -= credits[pk]
    return Settlement(plan, credits, replacement_lines)


def return_preview(*, order: Order, items: list[ReturnItemInput]) -> Settlement:
    """What submitting `items` against `order` would refund and credit, shown
    before confirming: the return's own validation (400 with field errors) and
    calculation, without its checks. Reads; no lock."""
    lines = list(order.lines.order_by("position"))
    _, asked = _validated_items(order=order, lines=lines, items=items)
    return return_settlement(
        order=order,
        lines=lines,
        units={item.order_line_id: item.quantity for item in items},
        replacements={
            items[index].order_line_id: replacement
            for index, (replacement, _) in asked.items()
        },
    )


def _settlement_of(ret: Return, order: Order) -> Settlement:
    items = list(ret.lines.filter(line_type=ReturnLine.Type.ITEM))
    return return_settlement(
        order=order,
        lines=order.locked_lines,
        units={item.order_line_id: item.quantity for item in items},
        replacements={
            item.order_line_id: Replacement(
                sku=item.replacement_sku,
                quantity=item.replacement_quantity,
                unit_price=item.replacement_unit_price,
            )
            for item in items
            if item.asks_replacement
        },
    )


def return_window_days(*, order: Order) -> int:
    """The order's return window: its channel's, or the channel's override for the
    flow its type follows (a custom type shares its flow's window)."""
    override = (
        ReturnWindow.objects.filter(channel=order.channel_id, order_type=order.flow)
        .values_list("days", flat=True)
        .first()
    )
    return order.channel.return_window_days if override is None else override


def _order_checks(ret: Return, order: Order) -> tuple[list[Check], Settlement | None]:
    """Eligibility per item (units, window, final sale), then the refund's
    validity (amounts, a refundable payment) and the replacement's payment. Returns
    the checks and, once the items are eligible, the return's settlement."""
    checks: list[Check] = []
    lines = {line.pk: line for line in order.locked_lines}
    shipped = _last_shipped(order)
    now = timezone.now()
    window = timedelta(days=return_window_days(order=order) + ret.window_extension_days)
    order_final_sale = FINAL_SALE_TAG in (order.tags or [])
    for item in ret.lines.filter(line_type=ReturnLine.Type.ITEM):
        line = lines[item.order_line_id]
        checks.append(
            Check(
                "quantity",
                item.sku,
                item.quantity <= line.quantity_fulfilled,
                f"{item.quantity} asked, {line.quantity_fulfilled} shipped and not "
                "yet returned.",
            )
        )
        since = shipped.get(line.pk, order.placed_at)
        deadline = since + window
        checks.append(
            Check(
                "window",
                item.sku,
                now <= deadline,
                f"Shipped {since:%Y-%m-%d}; returnable until {deadline:%Y-%m-%d} "
                f"({window.days} days"
                + (
                    f", {ret.window_extension_days} added by a CSR"
                    if ret.window_extension_days
                    else ""
                )
                + ").",
            )
        )
        checks.append(_final_sale_check(item, line, order_final_sale))
    if not all(check.passed for check in checks):
        return checks, None
    settlement = _settlement_of(ret, order)
    checks.append(_amount_check(order, settlement))
    account = order_account(order)
    if settlement.refund > 0:
        refundable = order_refundable(order)
        checks.append(
            Check(
                "payment",
                order.number,
                refundable >= settlement.refund,
                f"{_money(refundable, order.currency)} captured and not yet refunded"
                + (" (exchange credit included)." if order.exchange_credit else ".")
                if refundable
                else "The order has no captured payment to refund.",
            )
        )
    if settlement.difference > 0:
        checks.append(
            Check(
                "replacement_payment",
                order.number,
                account is not None,
                f"{_money(settlement.difference, order.currency)} more than the "
                "items returned: authorized on the original payment."
                if account
                else "The replacement costs more than the items returned and the "
                "order has no payment to authorize the difference on.",
            )
        )
    return checks, settlement


def _final_sale_check(item: ReturnLine, line: OrderLine, order_final_sale: bool):
    if order_final_sale:
        detail = "The whole order was sold as final sale: not returnable."
    elif line.final_sale:
        detail = "This item was sold as final sale: not returnable."
    else:
        detail = "Not a final sale."
    return Check(
        "final_sale", item.sku, not (order_final_sale or line.final_sale), detail
    )


def _money(amount: Decimal, currency: str) -> str:
    return f"{quantize(amount, currency)} {currency}"


def _amount_check(order: Order, settlement: Settlement) -> Check:
    plan, currency = settlement.plan, order.currency
    detail = f"{_money(plan.total, currency)} by the refund calculator" + (
        f", shipping {plan.shipping} included." if plan.shipping else "."
    )
    if settlement.replacement_lines:
        detail += (
            f" {_money(settlement.credit, currency)} pays for the replacement "
            f"(worth {_money(settlement.replacement_value, currency)}); "
            f"{_money(settlement.refund, currency)} refunded."
        )
    return Check("refund_amount", order.number, True, detail)


def _blind_checks(ret: Return) -> tuple[list[Check], None]:
    total = sum((line.refund_amount for line in ret.lines.all()), ZERO)
    checks = [
        Check(
            "refund_amount",
            ret.external_order_id,
            True,
            f"{quantize(total, ret.currency)} {ret.currency} from the prices given; "
            "the order lives in an external system, which owes the refund (no "
            "money moves here).",
        )
    ]
    return checks, None


# Settling -----------------------------------------------------------------------------


def _restock(ret: Return, *, actor) -> None:
    lines = list(
        ret.lines.filter(
            line_type=ReturnLine.Type.ITEM, condition=ItemCondition.RESELLABLE
        ).select_related("product")
    )
    stock_levels_lock(keys=[(ret.location_id, line.product_id) for line in lines])
    for line in lines:
        stock_restock_return(
            location=ret.location,
            product=line.product,
            quantity=line.quantity,
            reference=ret.rma_number,
            actor=actor,
        )
        line.restocked = True
        line.save(update_fields=["restocked"])


def _credit_order(ret: Return, order: Order, settlement: Settlement, *, actor) -> None:
    """The units back on the order (refunded less the credit), the amounts on the
    return's lines, and the replacement order when one is asked."""
    plan = settlement.plan
    order_lines_return(
        order=order,
        quantities=_units(ret),
        include_shipping=bool(plan.shipping),
        actor=actor,
        reason=ret.rma_number,
        asynchronous_refund=True,
        kept_as_credit=settlement.credit,
    )
    items = list(ret.lines.filter(line_type=ReturnLine.Type.ITEM))
    for item in items:
        item.refund_amount = settlement.refund_of(item.order_line_id)
        item.credit_amount = settlement.credits.get(item.order_line_id, ZERO)
    ReturnLine.objects.bulk_update(items, ["refund_amount", "credit_amount"])
    if plan.shipping:
        ReturnLine.objects.create(
            return_request=ret,
            line_type=ReturnLine.Type.SHIPPING,
            refund_amount=plan.shipping,
        )
    ret.total_refund_amount = settlement.refund
    ret.total_credit_amount = settlement.credit
    if settlement.replacement_lines:
        ret.replacement_order = replacement_order_create(
            order=order,
            lines=settlement.replacement_lines,
            credit=settlement.credit,
            return_id=ret.pk,
            rma_number=ret.rma_number,
        )


def return_payload(ret: Return) -> dict:
    order = ret.order
    return {
        "rma_number": ret.rma_number,
        "order_number": order.number if order else None,
        "external_order_id": ret.external_order_id or None,
        "external_return_id": ret.external_return_id or None,
        "channel": ret.channel.code,
        "location": ret.location.code,
        "currency": ret.currency,
        "total_refund_amount": quantize(ret.total_refund_amount, ret.currency),
        "total_credit_amount": quantize(ret.total_credit_amount, ret.currency),
        "replacement_order_number": ret.replacement_order.number
        if ret.replacement_order
        else None,
        "refund_due_from_external_system": ret.is_blind,
        "lines": [
            {
                "type": line.line_type,
                "order_line_id": line.order_line_id,
                "sku": line.sku or None,
                "quantity": line.quantity,
                "reason": line.reason or None,
                "condition": line.condition or None,
                "refund_amount": quantize(line.refund_amount, ret.currency),
                "credit_amount": quantize(line.credit_amount, ret.currency),
                "restocked": line.restocked,
                "replacement": {
                    "sku": line.replacement_sku,
                    "quantity": line.replacement_quantity,
                    "unit_price": quantize(line.replacement_unit_price, ret.currency),
                }
                if line.asks_replacement
                else None,
            }
            for line in ret.lines.all()
        ],
    }


def _check_and_settle(ret: Return, order: Order | None, *, actor) -> Return:
    """Run the checks on a `requested` return (the caller holds the order lock):
    all pass → money, stock, `processed`; any fails → `failed`, nothing moved."""
    checks, settlement = _order_checks(ret, order) if order else _blind_checks(ret)
    ret.checks = [check.as_dict() for check in checks]
    failed = [check for check in checks if not check.passed]
    if failed:
        reason = "; ".join(f"{c.subject}: {c.detail}" for c in failed)
        apply_transition(ret, "fail", actor=actor, reason=reason[:500])
        ret.save(update_fields=["status", "checks"])
        record_event(
            "return.failed",
            ret,
            {
                "rma_number": ret.rma_number,
                "order_number": order.number if order else None,
                "reasons": [check.as_dict() for check in failed],
            },
        )
        return ret
    if order is not None:
        _credit_order(ret, order, settlement, actor=actor)
    else:
        ret.total_refund_amount = sum(
            (line.refund_amount for line in ret.lines.all()), ZERO
        )
    _restock(ret, actor=actor)
    apply_transition(ret, "process", actor=actor)
    ret.processed_at = timezone.now()
    ret.save(
        update_fields=[
            "status",
            "checks",
            "total_refund_amount",
            "total_credit_amount",
            "replacement_order",
            "processed_at",
        ]
    )
    record_event("return.processed", ret, return_payload(ret))
    return ret


# Use-cases ----------------------------------------------------------------------------


def return_create(
    *,
    location: Location,
    items: list[ReturnItemInput],
    actor,
    order: Order | None = None,
    channel: Channel | None = None,
    external_order_id: str = "",
    external_return_id: str = "",
    currency: str = "",
) -> tuple[Return, bool]:
    """Submit a return against `order`, or blind (no order: `channel`,
    `external_order_id` and `currency`, SKUs and prices given), received at
    `location`, and check
    it at once → `processed` or `failed`. Returns (return, created); the same
    `external_return_id` again on the channel answers the first return.

    Bad input is a 400 with field errors and writes nothing; a store associate
    receives only at their own locations (403). Locks the order row, waiting for it,
    so returns of the same order are checked one after the other."""
    if order is None:
        _require_blind_fields(
            channel=channel, external_order_id=external_order_id, currency=currency
        )
    channel = order.channel if order is not None else channel
    _require_location(actor=actor, location=location)
    existing = _existing(channel=channel, external_return_id=external_return_id)
    if existing:
        return existing, False
    try:
        with transaction.atomic():
            locked = lock_order(order_id=order.pk, nowait=False) if order else None
            products, replacements = _validated_items(
                order=locked, lines=locked.locked_lines if locked else [], items=items
            )
            ret = Return.objects.create(
                order=locked,
                channel=channel,
                external_order_id=external_order_id.strip(),
                external_return_id=external_return_id.strip(),
                location=location,
                currency=locked.currency if locked else currency,
                created_by=actor,
            )
            ret.refresh_from_db(fields=["rma_number"])
            ReturnLine.objects.bulk_create(
                _item_line(ret, item, products[index], locked, replacements.get(index))
                for index, item in enumerate(items)
            )
            return _check_and_settle(ret, locked, actor=actor), True
    except IntegrityError:
        # The same external return id, submitted twice at the same moment.
        existing = _existing(channel=channel, external_return_id=external_return_id)
        if existing is None:
            raise
        return existing, False


def _existing(*, channel: Channel, external_return_id: str) -> Return | None:
    if not external_return_id.strip():
        return None
    return Return.objects.filter(
        channel=channel, external_return_id=external_return_id.strip()
    ).first()


def _require_blind_fields(
    *, channel: Channel | None, external_order_id: str, currency: str
) -> None:
    required = "Required for a return without an order."
    field_errors = {
        name: [message]
        for name, message, missing in (
            ("channel", required, channel is None),
            ("external_order_id", required, not external_order_id.strip()),
            ("currency", "Give a supported currency.", not is_known_currency(currency)),
        )
        if missing
    }
    if field_errors:
        raise ApplicationError(
            "Give the order, or for a blind return the channel, the external order "
            "id and the currency.",
            code="order_required",
            field_errors=field_errors,
        )


def _item_line(
    ret: Return,
    item: ReturnItemInput,
    product: Product,
    order: Order | None,
    asked: Asked | None,
) -> ReturnLine:
    blind_amount = (
        ZERO
        if order is not None
        else quantize(item.unit_price * item.quantity, ret.currency)
    )
    return ReturnLine(
        return_request=ret,
        order_line_id=item.order_line_id if order is not None else None,
        product=product,
        sku=product.sku,
        quantity=item.quantity,
        unit_price=item.unit_price if order is None else None,
        reason=item.reason,
        condition=item.condition,
        refund_amount=blind_amount,
        **_replacement_fields(asked),
    )


def _replacement_fields(asked: Asked | None) -> dict:
    if asked is None:
        return {}
    return {
        "replacement_product": asked.product,
        "replacement_sku": asked.replacement.sku,
        "replacement_quantity": asked.replacement.quantity,
        "replacement_unit_price": asked.replacement.unit_price,
    }


def return_retry(
    *,
    return_request: Return,
    actor,
    window_extension_days: int = 0,
    comment: str = "",
) -> Return:
    """Check a `failed` return again, after an optional correction: extra days on
    the return window, which need a comment (kept on the return with the earlier
    ones). Any other state is a 409. Locks the order row (waiting), then the
    return row."""
    if not isinstance(window_extension_days, int) or not 0 <= window_extension_days:
        raise ApplicationError(
            "The extension is a number of days, zero or more.",
            code="invalid_extension",
            field_errors={"window_extension_days": ["Give zero or more days."]},
        )
    if window_extension_days and not comment.strip():
        raise ApplicationError(
            "Say why the return window is extended.",
            code="comment_required",
            field_errors={"comment": ["A comment is required to extend the window."]},
        )
    with transaction.atomic():
        order = (
            lock_order(order_id=return_request.order_id, nowait=False)
            if return_request.order_id
            else None
        )
        ret = Return.objects.select_for_update().get(pk=return_request.pk)
        apply_transition(ret, "retry", actor=actor, reason=comment.strip())
        if window_extension_days:
            ret.window_extension_days += window_extension_days
            note = f"+{window_extension_days} days: {comment.strip()}"
            ret.correction_comment = "\n".join(
                part for part in (ret.correction_comment, note) if part
            )
        ret.save(
            update_fields=["status", "window_extension_days", "correction_comment"]
        )
        return _check_and_settle(ret, order, actor=actor)


def return_window_set(*, channel: Channel, order_type: str, days: int | None) -> None:
    """Give orders whose type follows the flow `order_type` on `channel` their
    own return window in days, or
    (`days=None`) go back to the channel's window. Idempotent; no lock needed (one
    upsert on a unique key)."""
    field_errors = {}
    if order_type not in Order.Flow.values:
        field_errors["order_type"] = [f"Not an order flow: {order_type!r}."]
    if days is not None and (not isinstance(days, int) or days < 0):
        field_errors["days"] = ["Give zero or more days."]
    if field_errors:
        raise ApplicationError(
            "Invalid return window.", code="invalid_window", field_errors=field_errors
        )
    if days is None:
        ReturnWindow.objects.filter(channel=channel, order_type=order_type).delete()
    else:
        ReturnWindow.objects.update_or_create(
            channel=channel, order_type=order_type, defaults={"days": days}
        )
