"""How much money belongs to which line: one pure module, no database.

Every cancellation, swap and return takes its amounts from here, and the order page
uses the same functions to preview a refund before the CSR confirms it, so the
preview and the money moved can never differ.

Model of an order's money (tax-exclusive prices):

- a line's payable amount is `quantity × unit_price − discount − order_discount_share
  + tax`; the order-level discount is spread over the lines once, at intake,
  pro rata to their discounted price (`spread`, which keeps every share between 0
  and its line's price);
- shipping (price + tax) is its own component: it is credited only when the whole
  order is cancelled or nothing of it is left to deliver (or, for returns, when the
  channel refunds shipping on the last return);
- the amount for `k` units of a line is cumulative: the units already credited and
  the new ones are priced together and the amount already credited is subtracted,
  so partial cancellations add up exactly to the line's payable amount (the last unit
  absorbs the remainders).

Amounts are rounded half-up to the currency's minor unit by `payments.money.quantize`.
"""

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from payments.money import quantize

ZERO = Decimal("0")


@dataclass(frozen=True)
class LineAmounts:
    key: Hashable
    quantity: int
    unit_price: Decimal
    discount: Decimal = ZERO
    order_discount_share: Decimal = ZERO
    tax: Decimal = ZERO
    units_credited: int = 0
    amount_credited: Decimal = ZERO

    @property
    def payable(self) -> Decimal:
        return (
            self.quantity * self.unit_price
            - self.discount
            - self.order_discount_share
            + self.tax
        )

    @property
    def units_left(self) -> int:
        return self.quantity - self.units_credited


@dataclass(frozen=True)
class OrderAmounts:
    currency: str
    lines: tuple[LineAmounts, ...]
    shipping: Decimal = ZERO
    shipping_credited: Decimal = ZERO


@dataclass(frozen=True)
class RefundPlan:
    currency: str
    lines: dict[Hashable, Decimal] = field(default_factory=dict)
    shipping: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return sum(self.lines.values(), ZERO) + self.shipping


@dataclass(frozen=True)
class SwapAmounts:
    old_amount: Decimal
    new_discount: Decimal
    new_tax: Decimal
    new_payable: Decimal

    @property
    def difference(self) -> Decimal:
        """Positive: the customer owes more; negative: money goes back."""
        return self.new_payable - self.old_amount


def spread(amount: Decimal, weights: Sequence[Decimal], currency: str) -> list[Decimal]:
    """Split `amount` pro rata to `weights` by rounding the running total: each
    share is the rounded amount of the weights up to and including its own, less
    that of the weights before it. The shares add up to `amount` exactly, and for
    weights in the currency's minor unit and an amount no larger than their sum,
    each lies between 0 and its weight (giving the whole remainder to one share
    could make it negative, or larger than a free gift's price). With no weight at
    all the whole amount lands on the last share."""
    if not weights:
        return []
    total_weight = sum(weights, ZERO)
    if not total_weight:
        return [ZERO] * (len(weights) - 1) + [quantize(amount, currency)]
    shares: list[Decimal] = []
    running_weight = placed = ZERO
    for weight in weights:
        running_weight += weight
        running_amount = quantize(amount * running_weight / total_weight, currency)
        shares.append(running_amount - placed)
        placed = running_amount
    return shares


def order_discount_shares(
    *, discount: Decimal, lines: Iterable[tuple[int, Decimal, Decimal]], currency: str
) -> list[Decimal]:
    """Spread an order-level discount over lines given as (quantity, unit_price,
    line_discount), pro rata to each line's discounted price."""
    weights = [
        quantity * price - line_discount for quantity, price, line_discount in lines
    ]
    return spread(discount, weights, currency)


def units_amount(line: LineAmounts, units: int, currency: str) -> Decimal:
    """The money of `units` more units of `line` (on top of those already credited)."""
    if units < 0 or units > line.units_left:
        raise ValueError(
            f"line {line.key}: {units} units asked, {line.units_left} left to credit"
        )
    if units == 0:
        return ZERO
    credited_after = line.units_credited + units
    if credited_after == line.quantity:
        cumulative = line.payable
    else:
        cumulative = quantize(line.payable * credited_after / line.quantity, currency)
    return quantize(max(cumulative - line.amount_credited, ZERO), currency)


def refund_plan(
    order: OrderAmounts, units: dict[Hashable, int], *, include_shipping: bool
) -> RefundPlan:
    """The amounts to give back for `units` per line key, plus what is left of the
    shipping when `include_shipping`."""
    by_key = {line.key: line for line in order.lines}
    amounts = {
        key: units_amount(by_key[key], count, order.currency)
        for key, count in units.items()
        if count
    }
    shipping = ZERO
    if include_shipping:
        shipping = quantize(order.shipping - order.shipping_credited, order.currency)
    return RefundPlan(currency=order.currency, lines=amounts, shipping=shipping)


def swap_amounts(
    *, line: LineAmounts, units: int, new_unit_price: Decimal, currency: str
) -> SwapAmounts:
    """What `units` of `line` were worth, and the amounts of a replacement line at
    `new_unit_price`: it keeps the same discount and tax rates (scaled by the price
    ratio), so a swap at the same price moves no money at all."""
    old_amount = units_amount(line, units, currency)
    discount_part = quantize(
        (line.discount + line.order_discount_share) * units / line.quantity, currency
    )
    tax_part = quantize(line.tax * units / line.quantity, currency)
    if line.unit_price:
        ratio = new_unit_price / line.unit_price
        new_discount = quantize(discount_part * ratio, currency)
        new_tax = quantize(tax_part * ratio, currency)
    else:
        new_discount, new_tax = ZERO, ZERO
    new_payable = quantize(units * new_unit_price - new_discount + new_tax, currency)
    if new_unit_price == line.unit_price:
        # Same price: exactly the money those units carried, remainders included
        # (a rounding cent goes to the tax, or to the discount, never below zero).
        remainder = old_amount - new_payable
        if remainder >= 0:
            new_tax += remainder
        else:
            new_discount -= remainder
        new_payable = old_amount
    return SwapAmounts(
        old_amount=old_amount,
        new_discount=new_discount,
        new_tax=new_tax,
        new_payable=new_payable,
    )
