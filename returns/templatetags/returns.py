"""`{% load returns %}`: the returns card of the order page reads its own data, so
the orders view needs no change."""

from django import template

from returns import selectors

register = template.Library()


@register.simple_tag
def order_returns(order) -> dict:
    return {
        "list": list(selectors.order_returns(order=order)),
        "fully_returned": selectors.order_fully_returned(order=order),
        "returnable": any(line.quantity_fulfilled for line in order.lines.all()),
    }
