"""Back-office pages at scale: server time per page with a year of orders.

    DATABASE_URL=postgres://... .venv/bin/python bench/backoffice.py \
        [--orders N] [--requests N] [--short]

Seeds (once; a second run with the same --orders reuses the data) a million orders
with five million lines by default, with fulfillment requests, shipments, returns,
timeline rows, brokering runs and queue-size snapshots (see bench/backoffice_seed.py).
Then asks each page REQUESTS times through Django's test Client in-process (the whole
request: URL resolving, middleware, session and role checks, queries, template
rendering; no network and no HTTP parsing), each time with another value of its
filter, and reports the 50th and 95th percentile in milliseconds:

- orders list unfiltered, and with each single filter (status, queue, type, channel,
  pickup location, date range, search by number / email / external id / SKU);
- the order detail page;
- the dashboard per role with its counters computed (cold: the counter cache is
  emptied before each request) and as most requests meet it (cached), and the
  charts' JSON;
- the global search box;
- the other large lists (fulfillment requests, returns, ledger, events).

Targets at 1,000,000 orders: lists with one filter and detail p95 < 150 ms, the
dashboard p95 < 300 ms. Prints the figures as JSON and a line of text, and writes
bench/results/backoffice.json.
"""

import argparse
import html
import json
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

# A fresh database works too: the schema is brought up to date first.
call_command("migrate", verbosity=0)

import backoffice_seed  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from inventory.models import Location, StaffLocation  # noqa: E402
from oms.backoffice.dashboard import forget_cached  # noqa: E402
from oms.roles import Role  # noqa: E402
from orders.models import Order  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "backoffice.json"
LIST_TARGET_MS, DASHBOARD_TARGET_MS = 150, 300
NEXT_LINK = re.compile(r'<a href="([^"]+)" rel="next">')


def ensure_seed(order_count: int) -> tuple[bool, float]:
    """(seeded now, seconds): reuses a seed of the same size."""
    if backoffice_seed.seeded_order_count() == order_count:
        return False, 0.0
    started = time.perf_counter()
    backoffice_seed.wipe()
    backoffice_seed.seed(order_count)
    return True, time.perf_counter() - started


def client_for(role: str) -> Client:
    user, _ = get_user_model().objects.get_or_create(username=f"bench-bo-{role}")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    if role == Role.STORE_ASSOCIATE:
        store = Location.objects.get(code="BO-ST01")
        StaffLocation.objects.get_or_create(user=user, location=store)
    client = Client()
    client.force_login(user)
    return client


def sample_values(count: int) -> dict[str, list]:
    """Values a person would type, drawn at random from the seeded data."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT o.number, o.customer_email, o.external_id FROM orders_order o"
            " JOIN orders_channel c ON c.id = o.channel_id"
            " WHERE c.code LIKE 'bo-%%' ORDER BY random() LIMIT %s",
            [count],
        )
        orders = cursor.fetchall()
        cursor.execute(
            "SELECT sku FROM orders_orderline TABLESAMPLE SYSTEM (1) LIMIT %s",
            [count],
        )
        skus = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT tracking_number FROM orders_shipment TABLESAMPLE SYSTEM (1)"
            " LIMIT %s",
            [count],
        )
        tracking = [row[0] for row in cursor.fetchall()]
    return {
        "numbers": [row[0] for row in orders],
        "emails": [row[1] for row in orders],
        "external_ids": [row[2] for row in orders],
        "skus": skus or ["BO-SKU-00001"],
        "tracking": tracking or ["TRK"],
    }


def measure(client: Client, urls: Callable[[int], str], requests: int) -> dict:
    for warm in range(2):
        client.get(urls(warm))
    timings = []
    for n in range(requests):
        url = urls(n)
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code not in (200, 302):
            raise SystemExit(f"{url} answered {response.status_code}")
    timings.sort()
    return {
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": round(timings[max(0, int(len(timings) * 0.95) - 1)], 1),
        "requests": requests,
    }


def cold(urls: Callable[[int], str], role: str) -> Callable[[int], str]:
    """The same URLs with the role's bench user's cached dashboard figures dropped
    before each request."""

    def url(n: int) -> str:
        forget_cached(get_user_model().objects.get(username=f"bench-bo-{role}"))
        return urls(n)

    return url


def pages(values: dict[str, list]) -> dict[str, tuple]:
    orders = reverse("orders:order-list")
    pick = lambda key: lambda n: values[key][n % len(values[key])]  # noqa: E731
    statuses = [s for s in Order.Status.values]
    queues = [q for q in Order.Queue.values if q]
    types = Order.Flow.values
    channels = [code for code, _ in backoffice_seed.CHANNELS]
    stores = [f"BO-ST{n:02d}" for n in range(1, backoffice_seed.STORE_COUNT + 1)]
    days = [f"2026-{m:02d}-{d:02d}" for m in range(1, 12) for d in (3, 14, 25)]
    number, email = pick("numbers"), pick("emails")
    external_id, sku, tracking = pick("external_ids"), pick("skus"), pick("tracking")
    return {
        "orders_list": ("csr", lambda n: orders),
        "orders_list_page_5": ("csr", None),  # filled by walking the pages
        "orders_status": ("csr", lambda n: f"{orders}?status={statuses[n % 6]}"),
        "orders_queue": ("csr", lambda n: f"{orders}?queue={queues[n % len(queues)]}"),
        "orders_type": (
            "csr",
            lambda n: f"{orders}?order_type={types[n % len(types)]}",
        ),
        "orders_channel": ("csr", lambda n: f"{orders}?channel={channels[n % 4]}"),
        "orders_location": ("csr", lambda n: f"{orders}?location={stores[n % 40]}"),
        "orders_date_range": (
            "csr",
            lambda n: f"{orders}?placed_from={days[n % 33]}&placed_to={days[n % 33]}",
        ),
        "orders_search_number": ("csr", lambda n: f"{orders}?q={number(n)}"),
        "orders_search_email": ("csr", lambda n: f"{orders}?q={email(n)}"),
        "orders_search_external_id": ("csr", lambda n: f"{orders}?q={external_id(n)}"),
        "orders_search_sku": ("csr", lambda n: f"{orders}?q={sku(n)}"),
        "order_detail": (
            "csr",
            lambda n: reverse("orders:order-detail", args=[number(n)]),
        ),
        "global_search_email": (
            "csr",
            lambda n: reverse("backoffice:search") + f"?q={email(n)}",
        ),
        "global_search_tracking": (
            "csr",
            lambda n: reverse("backoffice:search") + f"?q={tracking(n)}",
        ),
        **{
            f"dashboard_{role}": (
                role,
                cold(lambda n: reverse("backoffice:dashboard"), role),
            )
            for role in (Role.CSR, Role.STORE_ASSOCIATE, Role.INVENTORY_MANAGER)
        },
        "dashboard_admin": (
            "admin",
            cold(lambda n: reverse("backoffice:dashboard"), "admin"),
        ),
        "dashboard_csr_cached": ("csr", lambda n: reverse("backoffice:dashboard")),
        "dashboard_charts": (
            "csr",
            cold(lambda n: reverse("backoffice:dashboard-charts"), Role.CSR),
        ),
        "fulfillment_requests": (
            "csr",
            lambda n: (
                reverse("fulfillment:request-list")
                + ("?status=assigned" if n % 2 else "")
            ),
        ),
        "fulfillment_requests_store": (
            "store_associate",
            lambda n: reverse("fulfillment:request-list"),
        ),
        "returns_list": ("csr", lambda n: reverse("returns:return-list")),
        "events_list": ("admin", lambda n: reverse("backoffice:event-list")),
    }


def later_page_url(client: Client, depth: int) -> str:
    """The URL of page `depth` of the unfiltered list, found by following Next."""
    url = reverse("orders:order-list")
    for _ in range(depth):
        page = client.get(url).content.decode()
        url = reverse("orders:order-list") + html.unescape(
            NEXT_LINK.search(page).group(1)
        )
    return url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--short", action="store_true", help="20,000 orders")
    args = parser.parse_args()
    order_count = 20_000 if args.short else args.orders
    requests = 15 if args.short else args.requests
    seeded, seed_seconds = ensure_seed(order_count)
    backoffice_seed.ensure_queue_history()
    # Statistics for indexes a migration just built on the seeded tables (on an
    # expression, e.g. upper(email)), as autovacuum would gather them soon after.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    values = sample_values(requests)
    clients = {
        role: client_for(role)
        for role in (Role.CSR, Role.STORE_ASSOCIATE, Role.INVENTORY_MANAGER, "admin")
    }
    load_before = round(os.getloadavg()[0], 2)
    results = {}
    for name, (role, urls) in pages(values).items():
        if urls is None:
            deep = later_page_url(clients[role], 5)
            urls = lambda n, deep=deep: deep  # noqa: E731
        results[name] = measure(clients[role], urls, requests)
        print(
            f"  {name:32} p50 {results[name]['p50_ms']:7.1f} ms"
            f"  p95 {results[name]['p95_ms']:7.1f} ms",
            flush=True,
        )
    list_pages = [n for n in results if n.startswith(("orders_", "order_"))]
    # The page itself; its charts arrive afterwards from their own URL.
    dashboards = [
        n for n in results if n.startswith("dashboard_") and n != "dashboard_charts"
    ]
    worst_list = max(results[n]["p95_ms"] for n in list_pages)
    worst_dashboard = max(results[n]["p95_ms"] for n in dashboards)
    figures = {
        "orders": order_count,
        "short": args.short,
        "lines": 5 * order_count,
        "server": "Django test Client, in-process",
        "requests_per_page": requests,
        # Other work on the machine slows every figure: read them with this.
        "load_average_before": load_before,
        "load_average_after": round(os.getloadavg()[0], 2),
        "seeded_now": seeded,
        "seed_seconds": round(seed_seconds, 1),
        "worst_list_or_detail_p95_ms": worst_list,
        "worst_dashboard_p95_ms": worst_dashboard,
        "lists_within_target": worst_list < LIST_TARGET_MS,
        "dashboard_within_target": worst_dashboard < DASHBOARD_TARGET_MS,
        "dashboard_charts_p95_ms": results["dashboard_charts"]["p95_ms"],
        "pages": results,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps({k: v for k, v in figures.items() if k != "pages"}))
    print(
        f"backoffice: {order_count:,} orders; worst list/detail p95 {worst_list} ms"
        f" (target < {LIST_TARGET_MS}), worst dashboard p95 {worst_dashboard} ms"
        f" (target < {DASHBOARD_TARGET_MS})"
    )


if __name__ == "__main__":
    main()
