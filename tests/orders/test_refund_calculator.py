"""The refund calculator: pure amounts, rounding half-up, exact sums."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orders.refund_calculator import (
    LineAmounts,
    OrderAmounts,
    order_discount_shares,
    refund_plan,
    spread,
    swap_amounts,
    units_amount,
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
    assert units_amount(line(discount=D("0.01")), 1, "USD") == D("10.00")


def test_partial_cancellations_add_up_to_the_line_exactly():
    first = line(discount=D("0.01"))
    a = units_amount(first, 1, "USD")
    second = line(discount=D("0.01"), units_credited=1, amount_credited=a)
    b = units_amount(second, 1, "USD")
    third = line(discount=D("0.01"), units_credited=2, amount_credited=a + b)
    c = units_amount(third, 1, "USD")
    assert (a, b, c) == (D("10.00"), D("9.99"), D("10.00"))
    assert a + b + c == D("29.99")


def test_the_last_units_absorb_the_remainder_of_the_order_discount_and_tax():
    amounts = line(
        quantity=7, unit_price=D("3.33"), order_discount_share=D("1.01"), tax=D("2.07")
    )
    total = units_amount(amounts, 7, "USD")
    assert total == D("23.31") - D("1.01") + D("2.07")


def test_zero_units_cost_nothing_and_too_many_units_are_refused():
    assert units_amount(line(), 0, "USD") == D("0")
    with pytest.raises(ValueError):
        units_amount(line(units_credited=2), 2, "USD")


@pytest.mark.parametrize(
    ("units", "include_shipping", "expected"),
    [
        ({1: 1}, False, D("11.00")),
        ({1: 2, 2: 1}, True, D("55.00")),
        ({2: 1}, False, D("27.50")),
        ({1: 2, 2: 1}, False, D("49.50")),
    ],
)
def test_refund_plan_adds_shipping_only_when_asked(units, include_shipping, expected):
    order = OrderAmounts(
        currency="USD",
        lines=(
            LineAmounts(key=1, quantity=2, unit_price=D("10.00"), tax=D("2.00")),
            LineAmounts(key=2, quantity=1, unit_price=D("25.00"), tax=D("2.50")),
        ),
        shipping=D("5.50"),
    )
    assert (
        refund_plan(order, units, include_shipping=include_shipping).total == expected
    )


def test_shipping_already_credited_is_not_given_back_twice():
    order = OrderAmounts(
        currency="USD",
        lines=(LineAmounts(key=1, quantity=1, unit_price=D("10.00")),),
        shipping=D("5.50"),
        shipping_credited=D("5.50"),
    )
    assert refund_plan(order, {1: 1}, include_shipping=True).shipping == D("0")


def test_swap_at_the_same_price_moves_no_money():
    amounts = swap_amounts(
        line=line(discount=D("0.01"), order_discount_share=D("1.00"), tax=D("2.99")),
        units=1,
        new_unit_price=D("10.00"),
        currency="USD",
    )
    assert amounts.difference == D("0")
    assert amounts.new_discount >= 0 and amounts.new_tax >= 0


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
