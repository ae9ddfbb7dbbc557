"""The dashboard: "needs attention" counters and charts, gathered from the apps.

Each app may offer in `<app>/dashboard.py`:
- `attention_counters(user)` → dicts {label, count, url, roles}, each a link to the
  list that shows exactly the counted rows (scoped to the user as that list is);
- `charts(user)` → dicts {id, title, kind ("line" or "bar"), unit, x, series:
  [{name, values}]}, `values` aligned with `x`.

Both are cached per user for a short time (`OMS_DASHBOARD_COUNTERS_TTL` and
`OMS_DASHBOARD_CHARTS_TTL` seconds), so a dashboard left open by a whole shift does
not count the tables on every refresh; the page says how old its figures are.
"""

from importlib import import_module

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from redis.exceptions import RedisError

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


def _app_modules():
    for app in DASHBOARD_APPS:
        try:
            yield import_module(f"{app}.dashboard")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app}.dashboard":
                raise
            continue


def attention_counters(user) -> list[dict]:
    """Every app's counters that the user's roles may follow, counted now."""
    counters = []
    for module in _app_modules():
        counters.extend(module.attention_counters(user))
    counters.extend(kernel_counters())
    return [c for c in counters if has_role(user, *c.get("roles", ()))]


def charts(user) -> list[dict]:
    """Every app's charts that the user's roles may see, computed now."""
    found = []
    for module in _app_modules():
        if hasattr(module, "charts"):
            found.extend(module.charts(user))
    return [c for c in found if has_role(user, *c.pop("roles", ()))]


CACHED = ("counters", "charts")


def _key(name: str, user) -> str:
    return f"oms:dashboard:{name}:{user.pk}"


def _cached(name: str, user, compute, ttl: int) -> dict:
    """The cached figures, or computed now. With Redis down the dashboard still
    answers, computing every time."""
    try:
        found = cache.get(_key(name, user))
    except RedisError:
        found = None
    if found is None:
        found = {"as_of": timezone.now(), "ttl_seconds": ttl, "items": compute(user)}
        try:
            cache.set(_key(name, user), found, ttl)
        except RedisError:
            pass
    return found


def forget_cached(user) -> None:
    """Drop the user's cached counters and charts (the next view computes them)."""
    cache.delete_many([_key(name, user) for name in CACHED])


def cached_counters(user) -> dict:
    """{as_of, ttl_seconds, items}: the counters as computed at `as_of`."""
    return _cached(
        "counters", user, attention_counters, settings.OMS_DASHBOARD_COUNTERS_TTL
    )


def cached_charts(user) -> dict:
    """{as_of, ttl_seconds, items}: the charts as computed at `as_of`."""
    return _cached("charts", user, charts, settings.OMS_DASHBOARD_CHARTS_TTL)
