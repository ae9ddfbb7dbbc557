"""Global search: orders by number, external id or customer e-mail, and the orders
holding a SKU."""

from django.db.models import Q
from django.urls import reverse
from django.utils.http import urlencode

from oms.roles import Role, has_role
from orders.models import Order, OrderLine

MAX_ORDER_HITS = 20


def search_hits(*, query: str, user) -> list[dict]:
    if not has_role(user, Role.CSR):
        return []
    orders = list(
        Order.objects.filter(
            Q(number=query.upper())
            | Q(external_id=query)
            | Q(customer_email__iexact=query)
        )
        .select_related("channel")
        .order_by("-id")[: MAX_ORDER_HITS + 1]
    )
    list_url = reverse("orders:order-list") + "?" + urlencode({"q": query})
    hits = [
        {
            "kind": "Order",
            "label": order.number,
            "detail": f"{order.channel.code} {order.external_id} · "
            f"{order.customer_email} · {order.get_status_display()}",
            "url": order.get_absolute_url(),
        }
        for order in orders[:MAX_ORDER_HITS]
    ]
    if len(orders) > MAX_ORDER_HITS:
        hits.append(
            {
                "kind": "Orders",
                "label": f"All orders matching “{query}”",
                "detail": f"more than {MAX_ORDER_HITS}",
                "url": list_url,
            }
        )
    if OrderLine.objects.filter(sku=query).exists():
        hits.append(
            {
                "kind": "SKU",
                "label": f"Orders with SKU {query}",
                "detail": "the orders list, filtered by this SKU",
                "url": list_url,
            }
        )
    return hits
