"""`{% load returns %}`: the returns card of the order page reads its own data, so
the orders view needs no change."""

from django import template

from orders.models import Order
from returns import selectors

register = template.Library()


@register.simple_tag
def order_returns(order) -> dict:
    lines = list(order.lines.all())
    return {
        "list": list(selectors.order_returns(order=order)),
        "replaced": selectors.order_replaced_by_return(order=order),
        "returnable": any(line.quantity_fulfilled for line in lines),
        # A fully returned order has its own state; a completed one with units
        # back is only partly returned.
        "partly_returned": order.status == Order.Status.COMPLETED
        and any(line.quantity_returned for line in lines),
    }
