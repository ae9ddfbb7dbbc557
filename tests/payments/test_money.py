from decimal import Decimal

import pytest

from oms.errors import ApplicationError
from payments import money


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("1.005", "USD", "1.01"),
        ("1.004", "USD", "1.00"),
        ("2.675", "EUR", "2.68"),
        ("-1.005", "USD", "-1.01"),
        ("100.5", "JPY", "101"),
        ("100.49", "JPY", "100"),
        ("1999.5", "JPY", "2000"),
        ("19.9", "GBP", "19.90"),
    ],
)
def test_quantize_rounds_half_up_to_the_minor_unit(amount, currency, expected):
    result = money.quantize(Decimal(amount), currency)

    assert str(result) == expected


def test_minor_units_and_known_currencies_come_from_settings(settings):
    settings.OMS_CURRENCIES = {"USD": 2, "JPY": 0, "KWD": 3}

    assert money.minor_units("JPY") == 0
    assert money.minor_units("KWD") == 3
    assert str(money.quantize(Decimal("1.2345"), "KWD")) == "1.235"
    assert money.is_known_currency("USD")
    assert not money.is_known_currency("XXX")
    assert not money.is_known_currency(None)


def test_unknown_currency_is_refused_with_its_code():
    with pytest.raises(ApplicationError) as refused:
        money.quantize(Decimal("1.00"), "XYZ")

    assert refused.value.code == "unknown_currency"
    assert "currency" in refused.value.field_errors


@pytest.mark.parametrize("amount", [1.1, "abc", None, Decimal("NaN"), "Infinity"])
def test_floats_and_non_numbers_are_not_amounts(amount):
    with pytest.raises(ApplicationError) as refused:
        money.quantize(amount, "USD")

    assert refused.value.code == "invalid_amount"


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("0", "USD"), ("-5.00", "USD"), ("10.001", "USD"), ("10.5", "JPY")],
)
def test_services_take_only_positive_quantized_amounts(amount, currency):
    with pytest.raises(ApplicationError) as refused:
        money.require_positive_amount(Decimal(amount), currency)

    assert refused.value.code == "invalid_amount"
    assert "amount" in refused.value.field_errors


def test_a_quantized_positive_amount_is_accepted_as_it_is():
    assert money.require_positive_amount(Decimal("10.50"), "USD") == Decimal("10.50")
    assert money.require_positive_amount(Decimal("1000"), "JPY") == Decimal("1000")
