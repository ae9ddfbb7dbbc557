"""How much money belongs to which line and unit: one pure module, no database.

Every shipment, cancellation, swap and return takes its amounts from here, and the
pages use the same functions to preview a refund before the CSR confirms it, so the
preview and the money moved can never differ.

Model of an order's money (tax-exclusive prices):

- a line's payable amount is `quantity × unit_price − discount − order_discount_share
  + tax`; the order-level discount is spread over the lines once, at intake,
  pro rata to their discounted price (`spread`, which keeps every share between 0
  and its line's price);
- shipping (price + tax) is its own component: it is credited only when the whole
  order is cancelled or nothing of it is left to deliver (or, for returns, when the
  channel refunds shipping on the last return);
- a line's units are places 1‥quantity, and its first `k` places are worth
  `A(k) = payable × k / quantity` rounded (`places_amount`; `A(quantity)` is the
  payable amount exactly). Units are priced as a run of places, `A(end) − A(start)`,
  so runs next to each other add up without losing or doubling a cent:
  - shipped units take places from the front: a shipment captures the places
    after those already shipped (returned units were shipped too);
  - cancelled (and swapped-away) units take places from the back: a cancellation
    gives back the places before those already cancelled;
  - returned units give back shipped places from the front, first returned first.

  Shipped and cancelled units never share a place, so a line with nothing left open
  or allocated has captured `A(shipped)` and given back `payable − A(shipped)`:
  exactly its payable amount, whatever the order of its shipments and
  cancellations. Its returns together give back `A(returned) ≤ A(shipped)`, never
  more than was captured, and exactly that when everything shipped came back.
  (Counting shipments and cancellations from the same end would move a cent too
  many: of 2 units payable 0.05, shipping one would capture 0.03 and cancelling
  the other void 0.03.)

Amounts are rounded half-up to the currency's minor unit by `payments.money.quantize`.
"""

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from payments.money import quantize

ZERO = Decimal("0")


@dataclass(frozen=True)
class LineAmounts:
    """A line's amounts and how many of its units are in each state, as stored."""

    key: Hashable
    quantity: int
    unit_price: Decimal
    discount: Decimal = ZERO
    order_discount_share: Decimal = ZERO
    tax: Decimal = ZERO
    quantity_fulfilled: int = 0
    quantity_cancelled: int = 0
    quantity_returned: int = 0

    @property
    def payable(self) -> Decimal:
        return (
            self.quantity * self.unit_price
            - self.discount
            - self.order_discount_share
            + self.tax
        )

    @property
    def quantity_shipped(self) -> int:
        """Units that left a location: still with the customer or returned since."""
        return self.quantity_fulfilled + self.quantity_returned

    @property
    def quantity_cancellable(self) -> int:
        """Units neither shipped nor cancelled (open or allocated)."""
        return self.quantity - self.quantity_shipped - self.quantity_cancelled


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


def places_amount(line: LineAmounts, places: int, currency: str) -> Decimal:
    """`A(places)`: the money of the line's first `places` places, rounded half-up.
    All of them are worth the payable amount exactly (it is in the minor unit)."""
    return quantize(line.payable * places / line.quantity, currency)


def _run_amount(line: LineAmounts, start: int, end: int, currency: str) -> Decimal:
    """The money of the places after `start` up to and including `end`."""
    return places_amount(line, end, currency) - places_amount(line, start, currency)


def _require_units(line: LineAmounts, units: int, available: int, verb: str) -> None:
    if not 0 <= units <= available:
        raise ValueError(
            f"line {line.key}: {units} units to {verb}, {available} can be"
        )


def shipment_amount(line: LineAmounts, units: int, currency: str) -> Decimal:
    """What shipping `units` more units of `line` captures: the places from the
    front that follow the units shipped before."""
    _require_units(line, units, line.quantity_cancellable, "ship")
    shipped = line.quantity_shipped
    return _run_amount(line, shipped, shipped + units, currency)


def cancellation_amount(line: LineAmounts, units: int, currency: str) -> Decimal:
    """What cancelling `units` more units of `line` gives back: the places from
    the back that precede the units cancelled before."""
    _require_units(line, units, line.quantity_cancellable, "cancel")
    not_cancelled = line.quantity - line.quantity_cancelled
    return _run_amount(line, not_cancelled - units, not_cancelled, currency)


def return_amount(line: LineAmounts, units: int, currency: str) -> Decimal:
    """What returning `units` more shipped units of `line` refunds: the captured
    places from the front that follow the units returned before."""
    _require_units(line, units, line.quantity_fulfilled, "return")
    returned = line.quantity_returned
    return _run_amount(line, returned, returned + units, currency)


def _plan(
    order: OrderAmounts,
    units: dict[Hashable, int],
    amount: Callable[[LineAmounts, int, str], Decimal],
    include_shipping: bool,
) -> RefundPlan:
    by_key = {line.key: line for line in order.lines}
    amounts = {
        key: amount(by_key[key], count, order.currency)
        for key, count in units.items()
        if count
    }
    shipping = ZERO
    if include_shipping:
        shipping = quantize(order.shipping - order.shipping_credited, order.currency)
    return RefundPlan(currency=order.currency, lines=amounts, shipping=shipping)


def cancellation_plan(
    order: OrderAmounts, units: dict[Hashable, int], *, include_shipping: bool
) -> RefundPlan:
    """What cancelling `units` per line key gives back (`cancellation_amount`),
    plus what is left of the shipping when `include_shipping`."""
    return _plan(order, units, cancellation_amount, include_shipping)


def return_plan(
    order: OrderAmounts, units: dict[Hashable, int], *, include_shipping: bool
) -> RefundPlan:
    """What returning `units` per line key refunds (`return_amount`), plus what is
    left of the shipping when `include_shipping`."""
    return _plan(order, units, return_amount, include_shipping)


def swap_amounts(
    *, line: LineAmounts, units: int, new_unit_price: Decimal, currency: str
) -> SwapAmounts:
    """A swap of `units` of `line` for a line at `new_unit_price`: the swapped
    units are cancelled, so they are worth their `cancellation_amount`."""
    return _replacement_amounts(
        line=line,
        units=units,
        old_amount=cancellation_amount(line, units, currency),
        new_unit_price=new_unit_price,
        currency=currency,
    )


def exchange_amounts(
    *, line: LineAmounts, units: int, new_unit_price: Decimal, currency: str
) -> SwapAmounts:
    """A replacement at `new_unit_price` for `units` returned units of `line` (an
    exchange, priced before they are returned): they are worth their
    `return_amount`, so the same item back at the same price costs exactly what
    returning them gives back."""
    return _replacement_amounts(
        line=line,
        units=units,
        old_amount=return_amount(line, units, currency),
        new_unit_price=new_unit_price,
        currency=currency,
    )


def _replacement_amounts(
    *,
    line: LineAmounts,
    units: int,
    old_amount: Decimal,
    new_unit_price: Decimal,
    currency: str,
) -> SwapAmounts:
    """`old_amount`, what `units` of `line` were worth, and the amounts of a
    replacement line at `new_unit_price`: it keeps the same discount and tax rates
    (scaled by the price ratio), so a replacement at the same price moves no money
    at all."""
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
