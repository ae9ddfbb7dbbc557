"""Dashboard counters. Each app may offer `attention_counters(user)` in
`<app>/dashboard.py`, returning dicts {label, count, url, roles}; the dashboard shows
the ones the user's roles may follow."""

from importlib import import_module

from django.urls import reverse

from oms.models import WebhookDelivery
from oms.roles import has_role

DASHBOARD_APPS = ["orders", "orders.routing", "inventory", "returns", "payments"]


def kernel_counters() -> list[dict]:
    return [
        {
            "label": "Failed webhook deliveries",
            "count": WebhookDelivery.objects.filter(
                status=WebhookDelivery.Status.FAILED
            ).count(),
            "url": reverse("backoffice:webhook-deliveries") + "?status=failed",
            "roles": (),
        }
    ]


def attention_counters(user) -> list[dict]:
    counters = []
    for app in DASHBOARD_APPS:
        try:
            module = import_module(f"{app}.dashboard")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app}.dashboard":
                raise
            continue
        counters.extend(module.attention_counters(user))
    counters.extend(kernel_counters())
    return [c for c in counters if has_role(user, *c.get("roles", ()))]
