"""Money amounts: `Decimal` plus an ISO 4217 currency code, never float.

This module is the one place that rounds money. Amounts are quantized half-up to
the currency's minor unit as configured in `settings.OMS_CURRENCIES`
(code → number of decimals), e.g. USD 19.905 → 19.91, JPY 100.5 → 101.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings

from oms.errors import ApplicationError
from payments import errors


def is_known_currency(code: str) -> bool:
    return isinstance(code, str) and code in settings.OMS_CURRENCIES


def minor_units(currency: str) -> int:
    """Decimals of the currency's minor unit (USD 2, JPY 0)."""
    if not is_known_currency(currency):
        raise ApplicationError(
            f"Unknown currency {currency!r}.",
            code=errors.UNKNOWN_CURRENCY,
            field_errors={"currency": [f"{currency!r} is not a supported currency."]},
        )
    return int(settings.OMS_CURRENCIES[currency])


def _as_decimal(amount) -> Decimal:
    # Floats are refused: 0.1 + 0.2 is not money. Strings and ints are exact.
    if isinstance(amount, float | bool):
        raise ApplicationError(
            "Amounts must be decimals, not floating-point numbers.",
            code=errors.INVALID_AMOUNT,
            field_errors={"amount": ["Give the amount as a decimal string."]},
        )
    try:
        value = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError):
        value = None
    if value is None or not value.is_finite():
        raise ApplicationError(
            f"{amount!r} is not an amount.",
            code=errors.INVALID_AMOUNT,
            field_errors={"amount": ["Not a valid amount."]},
        )
    return value


def quantize(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded half-up to the currency's minor unit."""
    exponent = Decimal(1).scaleb(-minor_units(currency))
    return _as_decimal(amount).quantize(exponent, rounding=ROUND_HALF_UP)


def require_positive_amount(amount: Decimal, currency: str) -> Decimal:
    """The amount itself if it is positive and already quantized; otherwise an
    `ApplicationError` (services never round an amount they were given)."""
    value = _as_decimal(amount)
    if value <= 0:
        raise ApplicationError(
            "The amount must be greater than zero.",
            code=errors.INVALID_AMOUNT,
            field_errors={"amount": ["Must be greater than zero."]},
        )
    if quantize(value, currency) != value:
        raise ApplicationError(
            f"{value} has more decimals than {currency} allows "
            f"({minor_units(currency)}).",
            code=errors.INVALID_AMOUNT,
            field_errors={
                "amount": [f"At most {minor_units(currency)} decimals for {currency}."]
            },
        )
    return quantize(value, currency)
