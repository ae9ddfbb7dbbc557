"""`{% load payments %}`: amounts in their currency's precision, and whether the
user may press Retry."""

from django import template

from oms.roles import has_role
from payments import money
from payments.views import RETRY_ROLES

register = template.Library()


@register.filter
def money_amount(amount, currency: str) -> str:
    """`{{ account.captured_amount|money_amount:account.currency }}` → "19.90"."""
    if amount is None:
        return ""
    return str(money.quantize(amount, currency))


@register.filter
def can_retry_payments(user) -> bool:
    return has_role(user, *RETRY_ROLES)
