"""One brokering run over many opened orders, against PostgreSQL.

    DATABASE_URL=postgres://... .venv/bin/python bench/brokering.py [--short]

Seeds (bulk inserts, idempotent between runs): 50 locations across Great Britain
(5 DCs carrying most of 2,000 SKUs in depth, 45 stores carrying a few hundred each in
small numbers), then 10,000 opened orders of 1 to 5 lines (1,000 with `--short`) in
the brokering queue, shipping to random places. Then ONE brokering run of a
dedicated rule set routes them, timed on its own, with every query counted by a
connection execute wrapper. Afterwards the books are checked: no stock level holds
more reserved than on hand or differs from the sum of its reservations
(`over_reserved`), and every allocated unit of a routed line is reserved
(`unreserved_lines`).

Prints the figures as JSON and writes bench/results/brokering.json.
"""

import argparse
import json
import os
import random
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

# A fresh database works too: the schema is brought up to date first.
call_command("migrate", verbosity=0)

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from inventory.models import Location, Product, Reservation, StockLevel  # noqa: E402
from oms.celery import app as celery_app  # noqa: E402
from oms.models import Event, StateTransition  # noqa: E402
from oms.services.events import dispatch_events  # noqa: E402
from orders.models import Channel, Order, OrderLine  # noqa: E402
from orders.routing import services  # noqa: E402
from orders.routing.models import (  # noqa: E402
    FulfillmentRequest,
    FulfillmentRequestLine,
    OrderRouting,
    RoutingRuleSet,
)

PREFIX = "BRK"
SKU_COUNT = 2000
DC_COUNT = 5
STORE_COUNT = 45
RESULTS = ROOT / "bench" / "results" / "brokering.json"
# Great Britain, roughly.
LAT, LNG = (50.4, 55.8), (-4.5, 1.3)


def seed_catalogue(rng: random.Random) -> tuple[list[Location], list[Product]]:
    skus = [f"{PREFIX}-{n:05d}" for n in range(SKU_COUNT)]
    Product.objects.bulk_create(
        [Product(sku=sku, name=f"Bench {sku}") for sku in skus],
        ignore_conflicts=True,
    )
    products = list(Product.objects.filter(sku__in=skus).order_by("sku"))
    codes = [f"{PREFIX}-DC{n}" for n in range(DC_COUNT)] + [
        f"{PREFIX}-ST{n:02d}" for n in range(STORE_COUNT)
    ]
    Location.objects.bulk_create(
        [
            Location(
                code=code,
                name=code,
                type="dc" if "-DC" in code else "store",
                latitude=Decimal(str(round(rng.uniform(*LAT), 5))),
                longitude=Decimal(str(round(rng.uniform(*LNG), 5))),
                routing_priority=10 if "-DC" in code else 100,
                can_pickup="-ST" in code,
            )
            for code in codes
        ],
        ignore_conflicts=True,
    )
    locations = list(Location.objects.filter(code__in=codes).order_by("code"))
    return locations, products


def reset(locations, products, rng: random.Random, order_count: int) -> None:
    """Remove the previous run's orders and reservations; set the stock afresh."""
    channel, _ = Channel.objects.get_or_create(
        code="bench-brk", defaults={"name": "Bench"}
    )
    with transaction.atomic():
        order_ids = list(
            Order.objects.filter(channel=channel).values_list("pk", flat=True)
        )
        line_ids = [
            str(pk)
            for pk in OrderLine.objects.filter(order_id__in=order_ids).values_list(
                "pk", flat=True
            )
        ]
        FulfillmentRequestLine.objects.filter(request__order_id__in=order_ids).delete()
        request_ids = [
            str(pk)
            for pk in FulfillmentRequest.objects.filter(
                order_id__in=order_ids
            ).values_list("pk", flat=True)
        ]
        Event.objects.filter(
            entity_type="fulfillment_request", entity_id__in=request_ids
        ).delete()
        FulfillmentRequest.objects.filter(order_id__in=order_ids).delete()
        OrderRouting.objects.filter(order_id__in=order_ids).delete()
        StateTransition.objects.filter(
            entity_type="order", entity_id__in=[str(pk) for pk in order_ids]
        ).delete()
        Reservation.objects.filter(
            owner_type="order_line", owner_id__in=line_ids
        ).delete()
        OrderLine.objects.filter(order_id__in=order_ids).delete()
        Order.objects.filter(pk__in=order_ids).delete()
        StockLevel.objects.filter(location__in=locations).delete()
        # Stock: DCs carry ~90% of SKUs in depth, stores ~15% in small numbers.
        # Benchmark rows only (written directly, not through the ledger).
        levels = []
        for location in locations:
            share, depth = (0.9, (20, 200)) if location.type == "dc" else (0.15, (1, 8))
            for product in products:
                if rng.random() < share:
                    levels.append(
                        StockLevel(
                            location=location,
                            product=product,
                            on_hand=rng.randint(*depth),
                        )
                    )
        StockLevel.objects.bulk_create(levels, batch_size=5000)
    seed_orders(channel, products, rng, order_count)


def seed_orders(channel, products, rng: random.Random, count: int) -> None:
    now = timezone.now()
    # A few hundred SKUs sell most (a long tail after that).
    weights = [1 / (rank + 10) for rank in range(len(products))]
    orders = Order.objects.bulk_create(
        [
            Order(
                channel=channel,
                external_id=f"{PREFIX}-{now.timestamp()}-{n}",
                status=Order.Status.OPENED,
                queue=Order.Queue.BROKERING,
                currency="GBP",
                shipping_address={
                    "city": "Somewhere",
                    "latitude": round(rng.uniform(*LAT), 5),
                    "longitude": round(rng.uniform(*LNG), 5),
                },
                placed_at=now - timedelta(seconds=count - n),
                grace_period_ends_at=now,
            )
            for n in range(count)
        ],
        batch_size=2000,
    )
    lines = []
    for order in orders:
        chosen = set()
        for position in range(rng.randint(1, 5)):
            product = rng.choices(products, weights)[0]
            if product.pk in chosen:
                continue
            chosen.add(product.pk)
            quantity = rng.choice((1, 1, 1, 2, 3))
            lines.append(
                OrderLine(
                    order=order,
                    position=position + 1,
                    product=product,
                    sku=product.sku,
                    quantity=quantity,
                    quantity_open=quantity,
                    unit_price=Decimal("10.00"),
                )
            )
    OrderLine.objects.bulk_create(lines, batch_size=5000)


def rule_set() -> RoutingRuleSet:
    existing = RoutingRuleSet.objects.filter(name="Benchmark").first()
    return existing or services.rule_set_create(
        name="Benchmark", queues=["brokering"], run_every_minutes=None
    )


def check_books(order_ids: list[int]) -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM inventory_stocklevel s
            LEFT JOIN (
                SELECT location_id, product_id, sum(quantity) AS held
                FROM inventory_reservation GROUP BY location_id, product_id
            ) r USING (location_id, product_id)
            WHERE s.reserved > s.on_hand OR s.reserved <> coalesce(r.held, 0)
            """
        )
        over_reserved = cursor.fetchone()[0]
        cursor.execute(
            """
            SELECT count(*) FROM orders_orderline l
            LEFT JOIN (
                SELECT owner_id, sum(quantity) AS held FROM inventory_reservation
                WHERE owner_type = 'order_line' GROUP BY owner_id
            ) r ON r.owner_id = l.id::text
            WHERE l.order_id = ANY(%s) AND l.quantity_allocated <> coalesce(r.held, 0)
            """,
            [order_ids],
        )
        unreserved_lines = cursor.fetchone()[0]
    return over_reserved, unreserved_lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="1,000 orders (CI)")
    parser.add_argument("--orders", type=int, default=None)
    args = parser.parse_args()
    count = args.orders or (1000 if args.short else 10_000)
    if connection.vendor != "postgresql":
        print("bench/brokering.py needs DATABASE_URL pointing at PostgreSQL")
        return 2
    rng = random.Random(20261123)
    locations, products = seed_catalogue(rng)
    seed_started = time.perf_counter()
    reset(locations, products, rng, count)
    seed_seconds = time.perf_counter() - seed_started
    # Other orders waiting in brokering (a shared database) would be routed too.
    waiting = Order.objects.filter(queue="brokering").exclude(channel__code="bench-brk")
    if waiting.exists():
        print("Other orders wait in the brokering queue; use a dedicated database.")
        return 2
    order_ids = list(
        Order.objects.filter(channel__code="bench-brk").values_list("pk", flat=True)
    )

    queries = 0

    def count_queries(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    run = services.brokering_run_start(rule_set=rule_set(), enqueue=False)
    # The event dispatcher is a worker's job; in embedded mode it would run eagerly
    # inside the run's commits, so its tasks go to the (in-memory) broker instead and
    # the outbox is drained and timed separately below.
    eager, celery_app.conf.task_always_eager = celery_app.conf.task_always_eager, False
    try:
        with connection.execute_wrapper(count_queries):
            started = time.perf_counter()
            run = services.brokering_run_execute(run_id=run.pk)
            seconds = time.perf_counter() - started
    finally:
        celery_app.conf.task_always_eager = eager
    started = time.perf_counter()
    while dispatch_events():
        pass
    dispatch_seconds = time.perf_counter() - started
    over_reserved, unreserved_lines = check_books(order_ids)
    result = {
        "orders": count,
        "seconds": round(seconds, 3),
        "orders_per_s": round(count / seconds, 1),
        "queries": queries,
        "batches": -(-count // services.BATCH_SIZE),
        "routed": run.orders_routed,
        "splits": run.orders_split,
        "unfillable": run.orders_unfillable,
        "deferred": run.orders_deferred,
        "over_reserved": over_reserved,
        "unreserved_lines": unreserved_lines,
        "locations": len(locations),
        "skus": len(products),
        "seed_seconds": round(seed_seconds, 2),
        "event_dispatch_seconds": round(dispatch_seconds, 2),
        "short": args.short,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    print(
        f"brokering: {count} orders in {seconds:.2f} s ({result['orders_per_s']}/s), "
        f"{queries} queries, {run.orders_split} split, "
        f"{run.orders_unfillable} unfillable, over-reserved {over_reserved}"
    )
    return 0 if over_reserved == 0 and unreserved_lines == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
