"""The refund calculator: pure amounts, rounding half-up, exact sums."""

from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orders.refund_calculator import (
    LineAmounts,
    OrderAmounts,
    cancellation_amount,
    cancellation_plan,
    exchange_amounts,
    order_discount_shares,
    return_amount,
    return_plan,
    shipment_amount,
    spread,
    swap_amounts,
)

D = Decimal


def test_spread_rounds_the_running_total_so_the_shares_add_up():
    # running totals 3.333 → 3.33, 6.667 → 6.67, 10.00
    assert spread(D("10.00"), [D("1"), D("1"), D("1")], "USD") == [
        D("3.33"),
        D("3.34"),
        D("3.33"),
    ]


def test_a_free_gift_last_gets_no_share_of_the_order_discount():
    shares = order_discount_shares(
        discount=D("5.00"),
        lines=[(1, D("10.00"), D("0"))] * 3 + [(1, D("0.00"), D("0"))],
        currency="USD",
    )

    assert shares == [D("1.67"), D("1.66"), D("1.67"), D("0.00")]


def test_a_cheap_last_line_gets_no_more_discount_than_its_price():
    shares = order_discount_shares(
        discount=D("0.18"),
        lines=[(1, D("10.00"), D("0"))] * 4 + [(1, D("0.01"), D("0"))],
        currency="USD",
    )

    assert shares == [D("0.04"), D("0.05"), D("0.04"), D("0.05"), D("0.00")]


cents = st.integers(min_value=0, max_value=10**9).map(lambda n: D(n).scaleb(-2))


@given(weights=st.lists(cents, min_size=1, max_size=30), fraction=st.fractions(0, 1))
def test_every_share_lies_between_zero_and_its_weight_and_they_add_up(
    weights, fraction
):
    total = sum(weights, D("0"))
    amount = (total * fraction.numerator / fraction.denominator).quantize(D("0.01"))
    amount = min(amount, total)

    shares = spread(amount, weights, "USD")

    assert sum(shares, D("0")) == amount
    assert all(
        D("0") <= share <= weight for share, weight in zip(shares, weights, strict=True)
    )


def test_spread_rounds_half_up():
    # 0.05 × 1/2 = 0.025 → 0.03 half-up (banker's rounding would give 0.02)
    assert spread(D("0.05"), [D("1"), D("1")], "USD") == [D("0.03"), D("0.02")]


def test_spread_in_a_currency_without_minor_unit():
    assert spread(D("100"), [D("1"), D("2")], "JPY") == [D("33"), D("67")]


def test_spread_without_weights_puts_everything_on_the_last_share():
    assert spread(D("5.00"), [D("0"), D("0")], "USD") == [D("0"), D("5.00")]


def test_order_discount_is_spread_pro_rata_to_discounted_line_prices():
    shares = order_discount_shares(
        discount=D("10.00"),
        lines=[
            (2, D("10.00"), D("0")),
            (1, D("25.00"), D("5.00")),
            (1, D("40.00"), D("0")),
        ],
        currency="USD",
    )
    # weights 20, 20, 40 → 2.50, 2.50, 5.00
    assert shares == [D("2.50"), D("2.50"), D("5.00")]
    assert sum(shares) == D("10.00")


def line(**fields) -> LineAmounts:
    values = {"key": 1, "quantity": 3, "unit_price": D("10.00")}
    values.update(fields)
    return LineAmounts(**values)


def test_one_unit_of_three_is_a_third_rounded_half_up():
    # payable 30.00 - 0.01 discount = 29.99; a third is 9.9966… → 10.00
    assert shipment_amount(line(discount=D("0.01")), 1, "USD") == D("10.00")
    assert cancellation_amount(line(discount=D("0.01")), 1, "USD") == D("10.00")


def test_partial_cancellations_add_up_to_the_line_exactly():
    # places from the back: A(3) − A(2), A(2) − A(1), A(1) − A(0)
    a, b, c = (
        cancellation_amount(line(discount=D("0.01"), quantity_cancelled=n), 1, "USD")
        for n in range(3)
    )
    assert (a, b, c) == (D("10.00"), D("9.99"), D("10.00"))
    assert a + b + c == D("29.99")


def test_the_last_units_absorb_the_remainder_of_the_order_discount_and_tax():
    amounts = line(
        quantity=7, unit_price=D("3.33"), order_discount_share=D("1.01"), tax=D("2.07")
    )
    total = cancellation_amount(amounts, 7, "USD")
    assert total == D("23.31") - D("1.01") + D("2.07")


def test_zero_units_cost_nothing_and_too_many_units_are_refused():
    assert cancellation_amount(line(), 0, "USD") == D("0")
    with pytest.raises(ValueError):
        cancellation_amount(line(quantity_cancelled=2), 2, "USD")
    with pytest.raises(ValueError):
        shipment_amount(line(quantity_fulfilled=1, quantity_returned=1), 2, "USD")
    with pytest.raises(ValueError):
        return_amount(line(quantity_fulfilled=1, quantity_returned=1), 2, "USD")


def test_shipping_one_unit_and_cancelling_the_other_moves_the_line_exactly():
    # 2 units payable 0.05: the shipped unit is place 1 (0.025 → 0.03), the
    # cancelled one place 2, in either order; not 0.03 twice.
    five_cents = line(quantity=2, unit_price=D("0.03"), discount=D("0.01"))

    shipped_first = shipment_amount(five_cents, 1, "USD")
    then_cancelled = cancellation_amount(
        replace(five_cents, quantity_fulfilled=1), 1, "USD"
    )
    cancelled_first = cancellation_amount(five_cents, 1, "USD")
    then_shipped = shipment_amount(replace(five_cents, quantity_cancelled=1), 1, "USD")

    assert (shipped_first, then_cancelled) == (D("0.03"), D("0.02"))
    assert (cancelled_first, then_shipped) == (D("0.02"), D("0.03"))


def test_returns_refund_the_captured_places_first_returned_first():
    # 3 units payable 10.00, all shipped: captured 3.33 + 3.34 + 3.33
    shipped = line(quantity_fulfilled=3, discount=D("20.00"))

    refunds = [
        return_amount(
            replace(shipped, quantity_fulfilled=3 - n, quantity_returned=n), 1, "USD"
        )
        for n in range(3)
    ]

    assert refunds == [D("3.33"), D("3.34"), D("3.33")]


@dataclass(frozen=True)
class Moved:
    """The money moved for one line so far."""

    captured: Decimal = D("0")
    cancelled: Decimal = D("0")  # voided or refunded for cancelled units
    refunded: Decimal = D("0")  # for returned units


def every_history(
    state: LineAmounts, moved: Moved = Moved()
) -> Iterator[tuple[LineAmounts, Moved, Decimal]]:
    """Every state reachable from `state` by shipping, cancelling and returning
    any number of units in any order, each with the money moved on the way there
    and the amount of the last step."""
    for units in range(1, state.quantity_cancellable + 1):
        amount = shipment_amount(state, units, "USD")
        yield from _step(
            replace(state, quantity_fulfilled=state.quantity_fulfilled + units),
            replace(moved, captured=moved.captured + amount),
            amount,
        )
        amount = cancellation_amount(state, units, "USD")
        yield from _step(
            replace(state, quantity_cancelled=state.quantity_cancelled + units),
            replace(moved, cancelled=moved.cancelled + amount),
            amount,
        )
    for units in range(1, state.quantity_fulfilled + 1):
        amount = return_amount(state, units, "USD")
        yield from _step(
            replace(
                state,
                quantity_fulfilled=state.quantity_fulfilled - units,
                quantity_returned=state.quantity_returned + units,
            ),
            replace(moved, refunded=moved.refunded + amount),
            amount,
        )


def _step(state: LineAmounts, moved: Moved, amount: Decimal):
    yield state, moved, amount
    yield from every_history(state, moved)


def line_of(quantity: int, payable: Decimal) -> LineAmounts:
    return line(
        quantity=quantity,
        unit_price=D("10.00"),
        discount=quantity * D("10.00") - payable,
    )


@pytest.mark.parametrize("quantity", [1, 2, 3, 4, 5])
@pytest.mark.parametrize(
    "payable",
    [D(p) for p in ("0.00", "0.01", "0.02", "0.05", "0.07", "1.01", "9.99", "10.00")],
)
def test_any_mix_of_shipments_cancellations_and_returns_moves_the_line_exactly(
    quantity, payable
):
    start = line_of(quantity, payable)
    histories = 0
    for state, moved, amount in every_history(start):
        histories += 1
        assert D("0") <= amount == amount.quantize(D("0.01"))
        # Never more out of the line's money than it is worth...
        assert moved.captured + moved.cancelled <= payable
        assert moved.refunded <= moved.captured
        # ...and exactly its worth once nothing is left to ship or cancel.
        if not state.quantity_cancellable:
            assert moved.captured + moved.cancelled == payable
        # Everything shipped came back: everything captured is refunded.
        if not state.quantity_fulfilled:
            assert moved.refunded == moved.captured
    assert histories > quantity  # the walk did branch


@pytest.mark.parametrize(
    ("units", "include_shipping", "expected"),
    [
        ({1: 1}, False, D("11.00")),
        ({1: 2, 2: 1}, True, D("55.00")),
        ({2: 1}, False, D("27.50")),
        ({1: 2, 2: 1}, False, D("49.50")),
    ],
)
def test_cancellation_plan_adds_shipping_only_when_asked(
    units, include_shipping, expected
):
    order = OrderAmounts(
        currency="USD",
        lines=(
            LineAmounts(key=1, quantity=2, unit_price=D("10.00"), tax=D("2.00")),
            LineAmounts(key=2, quantity=1, unit_price=D("25.00"), tax=D("2.50")),
        ),
        shipping=D("5.50"),
    )
    plan = cancellation_plan(order, units, include_shipping=include_shipping)
    assert plan.total == expected


def test_shipping_already_credited_is_not_given_back_twice():
    order = OrderAmounts(
        currency="USD",
        lines=(LineAmounts(key=1, quantity=1, unit_price=D("10.00")),),
        shipping=D("5.50"),
        shipping_credited=D("5.50"),
    )
    assert cancellation_plan(order, {1: 1}, include_shipping=True).shipping == D("0")


def test_plans_price_each_line_by_its_own_rule():
    # 3 units payable 10.00, one shipped and one cancelled before
    half_done = line(quantity_fulfilled=1, quantity_cancelled=1, discount=D("20.00"))
    order = OrderAmounts(currency="USD", lines=(half_done,))

    cancelled = cancellation_plan(order, {1: 1}, include_shipping=False)
    returned = return_plan(order, {1: 1}, include_shipping=False)

    assert cancelled.lines == {1: D("3.34")}  # place 2: 6.67 − 3.33
    assert returned.lines == {1: D("3.33")}  # place 1, as it was captured


def test_swap_at_the_same_price_moves_no_money():
    amounts = swap_amounts(
        line=line(discount=D("0.01"), order_discount_share=D("1.00"), tax=D("2.99")),
        units=1,
        new_unit_price=D("10.00"),
        currency="USD",
    )
    assert amounts.difference == D("0")
    assert amounts.new_discount >= 0 and amounts.new_tax >= 0


def test_a_swap_prices_the_old_units_as_their_cancellation():
    # 2 units payable 0.05, one shipped (place 1, 0.03): the other is worth 0.02
    five_cents = line(
        quantity=2, unit_price=D("0.03"), discount=D("0.01"), quantity_fulfilled=1
    )

    amounts = swap_amounts(
        line=five_cents, units=1, new_unit_price=D("0.03"), currency="USD"
    )

    assert amounts.old_amount == cancellation_amount(five_cents, 1, "USD")
    assert (amounts.old_amount, amounts.new_payable) == (D("0.02"), D("0.02"))


def test_an_exchange_prices_the_old_units_as_their_return():
    five_cents = line(
        quantity=2, unit_price=D("0.03"), discount=D("0.01"), quantity_fulfilled=2
    )

    amounts = exchange_amounts(
        line=five_cents, units=1, new_unit_price=D("0.03"), currency="USD"
    )

    assert amounts.old_amount == return_amount(five_cents, 1, "USD") == D("0.03")
    assert amounts.difference == D("0")


def test_swap_to_a_cheaper_item_gives_back_the_difference_with_its_tax():
    # one unit at 10.00 + 10% tax = 11.00 → one unit at 8.00 + 10% = 8.80
    amounts = swap_amounts(
        line=line(quantity=2, tax=D("2.00")),
        units=1,
        new_unit_price=D("8.00"),
        currency="USD",
    )
    assert amounts.old_amount == D("11.00")
    assert amounts.new_tax == D("0.80")
    assert amounts.difference == D("-2.20")


def test_swap_to_a_dearer_item_keeps_the_discount_rate():
    # 2 units at 10.00 with 2.00 discount (10%) → 2 units at 15.00 with 3.00 discount
    amounts = swap_amounts(
        line=line(quantity=2, discount=D("2.00")),
        units=2,
        new_unit_price=D("15.00"),
        currency="USD",
    )
    assert amounts.new_discount == D("3.00")
    assert amounts.difference == D("27.00") - D("18.00")
