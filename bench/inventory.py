"""Reservation throughput and integrity against PostgreSQL.

    DATABASE_URL=postgres://... .venv/bin/python bench/inventory.py [--short]

Phases, each with 8 worker processes (own database connection each) calling
`inventory.services.reservation_create`:

1. spread: reservations on random SKUs out of 1,000 at one location;
2. hot: every reservation on the same SKU (one row all workers fight over);
3. race: the same SKU with only 100 units left and 4x as many attempts: exactly 100
   must succeed (`oversold` counts any success beyond the stock, plus any stock level
   whose reserved exceeds on_hand);
4. cleanup: some reservations are consumed (ledger rows), the rest released, then
   `ledger_exact` checks on_hand == sum(ledger) and reserved == sum(reservations) for
   every stock level in the database.

Prints the figures as JSON and writes them to bench/results/inventory.json.
Setup (products, locations, stock via the ERP sync service) is idempotent, so the
script can run any number of times against the same database.
"""

import argparse
import json
import multiprocessing
import os
import random
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

# A fresh database works too: the schema is brought up to date first.
call_command("migrate", verbosity=0)

from django.db import connection, connections  # noqa: E402

from inventory import selectors, services  # noqa: E402
from inventory.errors import InsufficientStock  # noqa: E402
from inventory.models import Location, Product, Reservation, StockLevel  # noqa: E402

WORKERS = 8
SKU_COUNT = 1000
SPREAD_STOCK = 100_000
HOT_STOCK = 1_000_000
RACE_STOCK = 100
PREFIX = "BENCH"
RESULTS = ROOT / "bench" / "results" / "inventory.json"


def setup() -> tuple[Location, list[Product]]:
    location = Location.objects.filter(code=f"{PREFIX}-DC").first()
    if location is None:
        location = services.location_create(
            code=f"{PREFIX}-DC", name="Benchmark DC", type=Location.Type.DC
        )
    skus = [f"{PREFIX}-{n:05d}" for n in range(SKU_COUNT + 1)]
    existing = set(Product.objects.filter(sku__in=skus).values_list("sku", flat=True))
    Product.objects.bulk_create(
        [
            Product(sku=sku, name=f"Benchmark {sku}")
            for sku in skus
            if sku not in existing
        ]
    )
    products = list(Product.objects.filter(sku__in=skus).order_by("sku"))
    return location, products


def set_stock(location: Location, quantities: dict[Product, int]) -> None:
    """Absolute stock through the ledger (the ERP sync service)."""
    services.stock_sync_run(
        rows=(
            services.SyncRow(n, location.code, product.sku, str(quantity))
            for n, (product, quantity) in enumerate(quantities.items(), start=1)
        ),
        source="bench/inventory.py",
    )


def worker(args) -> tuple[int, int, float]:
    """Runs in a child process: wait for the start signal, reserve `count` times."""
    location_id, product_ids, count, owner_prefix, start_at, seed = args
    connections.close_all()
    location = Location.objects.get(pk=location_id)
    products = list(Product.objects.filter(pk__in=product_ids))
    rng = random.Random(seed)
    ok = refused = 0
    while time.time() < start_at:
        time.sleep(0.0005)
    for n in range(count):
        try:
            services.reservation_create(
                location=location,
                product=products[rng.randrange(len(products))],
                quantity=1,
                owner_type="bench",
                owner_id=f"{owner_prefix}-{seed}-{n // 100}",
            )
            ok += 1
        except InsufficientStock:
            refused += 1
    finished = time.time()
    connections.close_all()
    return ok, refused, finished


def run_phase(location, products, per_worker: int, owner_prefix: str) -> dict:
    connections.close_all()
    context = multiprocessing.get_context("fork")
    start_at = time.time() + 1.0
    jobs = [
        (
            location.pk,
            [p.pk for p in products],
            per_worker,
            owner_prefix,
            start_at,
            seed,
        )
        for seed in range(WORKERS)
    ]
    with context.Pool(WORKERS) as pool:
        results = pool.map(worker, jobs)
    ok = sum(r[0] for r in results)
    refused = sum(r[1] for r in results)
    elapsed = max(r[2] for r in results) - start_at
    return {"ok": ok, "refused": refused, "seconds": elapsed}


def cleanup(location: Location, run: str) -> None:
    """Consume some reservations (shipments in the ledger), release the rest."""
    owners = list(
        Reservation.objects.filter(owner_type="bench", owner_id__startswith=run)
        .values_list("owner_id", "product_id")
        .order_by("id")[:200]
    )
    products = {p.pk: p for p in Product.objects.filter(pk__in={o[1] for o in owners})}
    for owner_id, product_id in owners:
        services.reservation_consume(
            owner_type="bench",
            owner_id=owner_id,
            location=location,
            product=products[product_id],
            quantity=1,
            reference=f"bench:{run}",
        )
    for owner_id in (
        Reservation.objects.filter(owner_type="bench")
        .values_list("owner_id", flat=True)
        .distinct()
        .iterator()
    ):
        services.reservations_release(owner_type="bench", owner_id=owner_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="a quick CI-sized run")
    options = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to a PostgreSQL database.")
    spread_each, hot_each = (150, 100) if options.short else (1500, 600)
    run = f"r{uuid.uuid4().hex[:8]}"

    location, products = setup()
    spread_products, hot = products[:SKU_COUNT], products[SKU_COUNT]
    cleanup(location, run)  # leftovers of an interrupted run
    set_stock(location, {p: SPREAD_STOCK for p in spread_products} | {hot: HOT_STOCK})

    spread = run_phase(location, spread_products, spread_each, f"{run}-s")
    hot_run = run_phase(location, [hot], hot_each, f"{run}-h")

    cleanup(location, run)
    set_stock(location, {hot: RACE_STOCK})
    race = run_phase(location, [hot], RACE_STOCK * 4 // WORKERS, f"{run}-r")
    level = StockLevel.objects.get(location=location, product=hot)
    oversold = (
        max(race["ok"] - RACE_STOCK, 0)
        + StockLevel.objects.filter(reserved__gt=django.db.models.F("on_hand")).count()
    )
    race_exact = race["ok"] == RACE_STOCK and level.reserved == RACE_STOCK

    cleanup(location, run)
    mismatches = selectors.stock_ledger_mismatches()
    figures = {
        "reservations_per_s_spread": round(spread["ok"] / spread["seconds"], 1),
        "reservations_per_s_hot": round(hot_run["ok"] / hot_run["seconds"], 1),
        "oversold": oversold,
        "ledger_exact": not mismatches,
        "race_last_units": {
            "stock": RACE_STOCK,
            "attempts": race["ok"] + race["refused"],
            "succeeded": race["ok"],
            "exact": race_exact,
        },
        "workers": WORKERS,
        "skus_spread": SKU_COUNT,
        "reservations_spread": spread["ok"],
        "reservations_hot": hot_run["ok"],
        "short": options.short,
        "database": "postgresql",
        "cpu_count": os.cpu_count(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    if mismatches or oversold:
        sys.exit(1)


if __name__ == "__main__":
    main()
