"""Dashboard counters (queues waiting, pickups waiting too long, rejections) and
charts (lead time per location, brokering runs, queue sizes over time)."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from inventory.selectors import locations_for_user
from oms.roles import Role, has_role
from orders.routing import selectors
from orders.routing.models import FulfillmentRequest
from orders.routing.selectors import queue_sizes
from orders.routing.services import pickup_days

BOPIS_WAITING = timedelta(days=2)  # a pickup ready this long is worth a reminder
WATCHED_QUEUES = ("brokering", "unfillable", "rejected", "bopis_rejected")


def _age(seconds: int | None) -> str:
    if seconds is None:
        return ""
    hours = seconds // 3600
    return (
        f" (oldest {hours // 24} d {hours % 24} h)"
        if hours >= 24
        else (f" (oldest {hours} h {seconds % 3600 // 60} min)")
    )


def attention_counters(user) -> list[dict]:
    counters = []
    if has_role(user, Role.CSR):
        for queue in queue_sizes():
            if queue["queue"] in WATCHED_QUEUES:
                counters.append(
                    {
                        "label": f"Queue {queue['label']}"
                        + _age(queue["oldest_age_seconds"]),
                        "count": queue["size"],
                        "url": reverse(
                            "fulfillment:queue-detail", args=[queue["queue"]]
                        ),
                        "roles": (Role.CSR,),
                    }
                )
    requests = FulfillmentRequest.objects.all()
    if not has_role(user, Role.CSR, Role.INVENTORY_MANAGER):
        requests = requests.filter(location__in=locations_for_user(user=user))
    url = reverse("fulfillment:request-list")
    counters.append(
        {
            "label": "Pickups waiting over 2 days",
            "count": requests.filter(
                status=FulfillmentRequest.Status.READY_FOR_PICKUP,
                # ready since (deadline - pickup days) more than BOPIS_WAITING ago
                pickup_deadline__lte=timezone.now()
                + timedelta(days=pickup_days())
                - BOPIS_WAITING,
            ).count(),
            "url": f"{url}?status=ready_for_pickup",
            "roles": (Role.STORE_ASSOCIATE, Role.CSR),
        }
    )
    counters.append(
        {
            "label": "Requests waiting to be accepted",
            "count": requests.filter(status=FulfillmentRequest.Status.ASSIGNED).count(),
            "url": f"{url}?status=assigned",
            "roles": (Role.STORE_ASSOCIATE,),
        }
    )
    return counters


def charts(user) -> list[dict]:
    lead_times = selectors.lead_times_per_location(
        since=timezone.now() - selectors.LEAD_TIME_WINDOW,
        locations=None
        if has_role(user, Role.CSR, Role.INVENTORY_MANAGER)
        else locations_for_user(user=user),
    )
    runs = selectors.brokering_run_history()
    snapshots = selectors.queue_size_history(since=timezone.now() - timedelta(days=1))
    return [
        {
            "id": "lead-time",
            "title": "Lead time placed → shipped, hours (last "
            f"{selectors.LEAD_TIME_WINDOW.days} days)",
            "kind": "bar",
            "unit": "hours",
            "x": [row["location"] for row in lead_times],
            "series": [
                {"name": "median", "values": [row["median"] for row in lead_times]},
                {"name": "p90", "values": [row["p90"] for row in lead_times]},
            ],
            "roles": (Role.CSR, Role.STORE_ASSOCIATE, Role.INVENTORY_MANAGER),
        },
        {
            "id": "brokering-runs",
            "title": f"Brokering runs (last {len(runs['x'])})",
            "kind": "line",
            "unit": "orders",
            **runs,
            "roles": (Role.CSR,),
        },
        {
            "id": "queue-sizes",
            "title": "Queue sizes (last 24 hours)",
            "kind": "line",
            "unit": "orders",
            **snapshots,
            "roles": (Role.CSR,),
        },
    ]
