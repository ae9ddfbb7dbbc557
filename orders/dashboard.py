"""Dashboard counters and charts of orders: what waits for a person, and how many
orders came in per day by status and by channel."""

from datetime import timedelta

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone

from oms.roles import Role
from orders.filters import day_start
from orders.models import Channel, Order

CHART_DAYS = 14


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


def chart_days(days: int = CHART_DAYS) -> list:
    """The last `days` calendar days (the shop's time zone), oldest first."""
    today = timezone.localdate()
    return [today - timedelta(days=n) for n in range(days - 1, -1, -1)]


def _orders_per_day(field: str, days: list) -> dict[str, list[int]]:
    """{value of `field`: orders placed per day}, from the covering index on
    placed_at (status and channel included): no order row is read."""
    rows = (
        Order.objects.filter(placed_at__gte=day_start(days[0]))
        .annotate(day=TruncDate("placed_at"))
        .values("day", field)
        .annotate(orders=Count("*"))
        .order_by()
    )
    position = {day: n for n, day in enumerate(days)}
    series: dict[str, list[int]] = {}
    for row in rows:
        values = series.setdefault(row[field], [0] * len(days))
        values[position[row["day"]]] += row["orders"]
    return series


def charts(user) -> list[dict]:
    days = chart_days()
    x = [day.isoformat() for day in days]
    by_status = _orders_per_day("status", days)
    by_channel = _orders_per_day("channel", days)
    channel_codes = dict(
        Channel.objects.filter(pk__in=by_channel).values_list("pk", "code")
    )
    roles = (Role.CSR, Role.INVENTORY_MANAGER)
    return [
        {
            "id": "orders-by-status",
            "title": f"Orders per day by status (last {len(days)} days)",
            "kind": "line",
            "unit": "orders",
            "x": x,
            "series": [
                {"name": label, "values": by_status[value]}
                for value, label in Order.Status.choices
                if value in by_status
            ],
            "roles": roles,
        },
        {
            "id": "orders-by-channel",
            "title": f"Orders per day by channel (last {len(days)} days)",
            "kind": "line",
            "unit": "orders",
            "x": x,
            "series": sorted(
                (
                    {"name": channel_codes[pk], "values": values}
                    for pk, values in by_channel.items()
                ),
                key=lambda series: series["name"],
            ),
            "roles": roles,
        },
    ]
