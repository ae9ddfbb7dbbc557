"""Dashboard counters: orders waiting for a person."""

from django.urls import reverse

from oms.roles import Role
from orders.models import Order


def attention_counters(user) -> list[dict]:
    url = reverse("orders:order-list")
    return [
        {
            "label": "Orders on hold",
            "count": Order.objects.filter(status=Order.Status.ON_HOLD).count(),
            "url": f"{url}?status=on_hold",
            "roles": (Role.CSR,),
        }
    ]
