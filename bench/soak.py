"""Soak test: mixed traffic for a long while against the services-mode stack.

    DATABASE_URL=postgres://... .venv/bin/python bench/soak.py [--short]
        [--duration 600] [--rate 20] [--clients 6]

Starts, on loopback only: a private redis-server (the broker), gunicorn (3 sync
workers), a Celery worker (2 processes) and Celery beat, all on DATABASE_URL. Seeds
its own channel (no grace period), 40 SKUs stocked deep at 4 locations, an
integration token and an admin user. Then `--clients` threads send about `--rate`
requests per second in all (bounded, paced: a soak measures stability, not the
ceiling) for `--duration` seconds:

- intake: POST /api/v1/orders (1-3 lines); beat opens them (grace period over);
- routing: POST /api/v1/brokering-runs every 5 s (beat also runs the rule set);
- fulfillment: accept, pack and ship each routed request through the API;
- returns: POST /api/v1/returns for some shipped lines;
- lists: orders, fulfillment requests, the event feed, an order's detail, and the
  back-office order list page (session login).

Reports throughput, p50/p95/p99 per kind of request, errors (any 5xx, any answer
other than the expected one, any exception) and the resident memory of the web and
worker process trees after a warm-up and at the end (growth = end / start - 1).
Writes bench/results/soak.json and prints one line of text; the servers' output goes
to var/soak-servers.log. `--short` is a 30 s run
for CI. Everything it started is stopped, whatever happens.
"""

import argparse
import collections
import json
import os
import random
import re
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")

from tests.servers import CeleryProcess, Gunicorn, RedisServer  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "soak.json"
PREFIX = "SOAK"
SKUS = 40
LOCATIONS = [  # code, type, latitude, longitude (around London)
    ("SOAK-DC", "dc", 51.75, -0.34),
    ("SOAK-CAMDEN", "store", 51.539, -0.1426),
    ("SOAK-CROYDON", "store", 51.3762, -0.0982),
    ("SOAK-EALING", "store", 51.513, -0.3089),
]
STOCK_PER_LEVEL = 200_000
WRITES = {"intake", "route", "accept", "pack", "ship", "return"}
ROUTE_EVERY = 5.0


def setup() -> dict:
    """Schema, channel, catalogue, stock, a token and an admin (idempotent)."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    from inventory import services as inventory_services
    from inventory.models import Location, Product, StockLevel
    from oms.roles import Role
    from oms.services.api_clients import api_client_create
    from orders.models import Channel
    from orders.routing.models import RoutingRuleSet
    from orders.services import channel_create

    call_command("migrate", verbosity=0)
    if not Channel.objects.filter(code="soak").exists():
        channel_create(code="soak", name="Soak channel", grace_period_minutes=0)
    skus = [f"{PREFIX}-{n:03d}" for n in range(SKUS)]
    for sku in skus:
        if not Product.objects.filter(sku=sku).exists():
            inventory_services.product_create(sku=sku, name=f"Soak {sku}")
    for code, kind, lat, lng in LOCATIONS:
        if not Location.objects.filter(code=code).exists():
            inventory_services.location_create(
                code=code, name=code, type=kind, latitude=lat, longitude=lng,
                can_pickup=kind == "store", can_ship=True,
            )  # fmt: skip
    for location in Location.objects.filter(code__startswith=f"{PREFIX}-"):
        for product in Product.objects.filter(sku__in=skus):
            level = StockLevel.objects.filter(location=location, product=product)
            on_hand = level.values_list("on_hand", flat=True).first() or 0
            if on_hand < STOCK_PER_LEVEL // 2:
                inventory_services.adjustment_create(
                    location=location, product=product,
                    quantity=STOCK_PER_LEVEL - on_hand, reason="found",
                )  # fmt: skip
    _, token = api_client_create(name=f"soak-{uuid.uuid4().hex[:8]}")
    password = uuid.uuid4().hex
    admin, _ = get_user_model().objects.get_or_create(username="soak-admin")
    admin.set_password(password)
    admin.save()
    admin.groups.add(Group.objects.get_or_create(name=Role.ADMIN)[0])
    rule_set = RoutingRuleSet.objects.filter(name="Default", active=True).first()
    if rule_set is None:
        sys.exit("The Default routing rule set is missing or inactive.")
    return {
        "token": token,
        "admin_password": password,
        "rule_set_id": rule_set.pk,
        "skus": skus,
        "stores": [code for code, kind, _, _ in LOCATIONS if kind == "store"],
    }


class Recorder:
    """Latency, status and errors of every request, by kind."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = collections.defaultdict(list)
        self.errors: dict[str, int] = collections.Counter()
        self.server_errors = 0
        self.samples: list[str] = []

    def record(self, kind: str, seconds: float, ok: bool, status, detail: str = ""):
        with self.lock:
            self.latencies[kind].append(seconds)
            if status is not None and status >= 500:
                self.server_errors += 1
            if not ok:
                self.errors[kind] += 1
                if len(self.samples) < 20:
                    self.samples.append(f"{kind} {status}: {detail[:200]}")

    def summary(self) -> dict:
        def pct(values: list[float], q: float) -> float:
            ordered = sorted(values)
            index = min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))
            return round(ordered[index] * 1000, 1)

        kinds = {}
        for kind, values in sorted(self.latencies.items()):
            kinds[kind] = {
                "count": len(values),
                "p50_ms": pct(values, 0.50),
                "p95_ms": pct(values, 0.95),
                "p99_ms": pct(values, 0.99),
                "errors": self.errors.get(kind, 0),
            }
        writes = [v for k, vs in self.latencies.items() if k in WRITES for v in vs]
        reads = [v for k, vs in self.latencies.items() if k not in WRITES for v in vs]
        return {
            "by_kind": kinds,
            "writes_p99_ms": pct(writes, 0.99) if writes else None,
            "reads_p99_ms": pct(reads, 0.99) if reads else None,
            "requests": sum(len(v) for v in self.latencies.values()),
            "errors": sum(self.errors.values()),
            "http_5xx": self.server_errors,
            "error_samples": self.samples,
        }


class Shop:
    """The work the clients share: requests to fulfil, lines to return."""

    def __init__(self):
        self.lock = threading.Lock()
        self.to_fulfil: collections.deque = collections.deque()  # (id, next step)
        self.handed_out: set[int] = set()
        self.returnable: collections.deque = collections.deque(maxlen=500)
        self.orders_created = 0
        self.shipped = 0
        self.returns = 0
        self.routing_runs = 0
        self.last_listed = 0.0


class Client:
    def __init__(self, base: str, context: dict, recorder: Recorder, shop: Shop):
        import requests

        self.base = base
        self.api = f"{base}/api/v1"
        self.context = context
        self.recorder = recorder
        self.shop = shop
        self.random = random.Random()
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {context['token']}"
        self.browser = requests.Session()  # back-office pages, signed in

    def call(self, kind: str, method: str, path: str, expected: int, **kwargs):
        session = kwargs.pop("session", self.session)
        url = path if path.startswith("http") else f"{self.api}/{path}"
        started = time.perf_counter()
        try:
            response = session.request(method, url, timeout=60, **kwargs)
        except Exception as exc:  # a refused or dropped connection is an error
            self.recorder.record(kind, time.perf_counter() - started, False, None,
                                 repr(exc))  # fmt: skip
            return None
        elapsed = time.perf_counter() - started
        ok = response.status_code == expected
        self.recorder.record(kind, elapsed, ok, response.status_code,
                             response.text if not ok else "")  # fmt: skip
        return response if ok else None

    # Operations --------------------------------------------------------------------
    def intake(self) -> None:
        lines = [
            {
                "sku": self.random.choice(self.context["skus"]),
                "quantity": self.random.randint(1, 2),
                "unit_price": "19.90",
                "tax": "1.99",
            }
            for _ in range(self.random.randint(1, 3))
        ]
        skus = [line["sku"] for line in lines]
        if len(set(skus)) < len(skus):
            lines = lines[:1]
        body = {
            "channel": "soak",
            "external_id": f"soak-{uuid.uuid4().hex}",
            "currency": "GBP",
            "payment_token": "tok_approve",
            "customer_name": "Soak Customer",
            "customer_email": "soak@example.com",
            "shipping_address": {
                "address_line1": "1 Strand",
                "city": "London",
                "latitude": 51.5072,
                "longitude": -0.1276,
            },
            "shipping_method": "standard",
            "shipping_price": "3.50",
            "lines": lines,
        }
        if self.call("intake", "POST", "orders", 201, json=body) is not None:
            with self.shop.lock:
                self.shop.orders_created += 1

    def route(self) -> None:
        body = {"rule_set_id": self.context["rule_set_id"]}
        if self.call("route", "POST", "brokering-runs", 202, json=body) is not None:
            with self.shop.lock:
                self.shop.routing_runs += 1

    def fulfil(self) -> None:
        with self.shop.lock:
            work = self.shop.to_fulfil.popleft() if self.shop.to_fulfil else None
            refill = work is None and time.monotonic() - self.shop.last_listed > 1
            if refill:
                self.shop.last_listed = time.monotonic()
        if work is None:
            if refill:
                self.list_assigned()
            else:
                self.lists()
            return
        pk, step = work
        if step in ("accept", "pack"):
            if self.call(step, "POST", f"fulfillment-requests/{pk}/{step}", 200,
                         json={}) is not None:  # fmt: skip
                following = "pack" if step == "accept" else "ship"
                with self.shop.lock:
                    self.shop.to_fulfil.append((pk, following))
            return
        body = {"carrier": "DHL", "tracking_number": f"SOAK{pk}"}
        response = self.call("ship", "POST", f"fulfillment-requests/{pk}/ship", 200,
                             json=body)  # fmt: skip
        if response is not None:
            data = response.json()
            with self.shop.lock:
                self.shop.shipped += 1
                for line in data["lines"]:
                    self.shop.returnable.append(
                        (data["order_number"], line["order_line_id"])
                    )

    def list_assigned(self) -> None:
        response = self.call("list_requests", "GET",
                             "fulfillment-requests?status=assigned", 200)  # fmt: skip
        if response is None:
            return
        with self.shop.lock:
            for request in response.json()["results"]:
                ours = request["location"].startswith(f"{PREFIX}-")
                if ours and request["id"] not in self.shop.handed_out:
                    self.shop.handed_out.add(request["id"])
                    self.shop.to_fulfil.append((request["id"], "accept"))

    def return_items(self) -> None:
        with self.shop.lock:
            item = self.shop.returnable.popleft() if self.shop.returnable else None
        if item is None:
            return self.lists()
        order_number, line_id = item
        body = {
            "order": order_number,
            "location": self.random.choice(self.context["stores"]),
            "items": [
                {"order_line_id": line_id, "quantity": 1, "reason": "size",
                 "condition": "resellable"}
            ],
        }  # fmt: skip
        if self.call("return", "POST", "returns", 201, json=body) is not None:
            with self.shop.lock:
                self.shop.returns += 1

    def lists(self) -> None:
        choice = self.random.random()
        if choice < 0.3:
            response = self.call("list_orders", "GET", "orders?channel=soak", 200)
            if response is not None and response.json()["results"]:
                number = response.json()["results"][0]["number"]
                self.call("order_detail", "GET", f"orders/{number}", 200)
        elif choice < 0.55:
            self.call("list_requests", "GET", "fulfillment-requests?active=true", 200)
        elif choice < 0.8:
            self.call("events_feed", "GET", "events?after=0", 200)
        else:
            self.backoffice_orders()

    def backoffice_orders(self) -> None:
        if "sessionid" not in self.browser.cookies:
            login = f"{self.base}/backoffice/login/"
            page = self.browser.get(login, timeout=60)
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
            self.browser.post(
                login,
                data={
                    "username": "soak-admin",
                    "password": self.context["admin_password"],
                    "csrfmiddlewaretoken": token.group(1) if token else "",
                },
                headers={"Referer": login},
                timeout=60,
            )
        self.call("backoffice_orders", "GET", f"{self.base}/backoffice/orders/", 200,
                  session=self.browser)  # fmt: skip

    def step(self) -> None:
        choice = self.random.random()
        if choice < 0.35:
            self.intake()
        elif choice < 0.70:
            self.fulfil()
        elif choice < 0.75:
            self.return_items()
        else:
            self.lists()


def run_clients(base, context, recorder, shop, *, clients, rate, duration) -> float:
    """`clients` threads, each paced to rate/clients requests per second (an
    operation that takes longer only delays that client), plus one routing timer."""
    stop = threading.Event()
    interval = clients / rate

    def client_loop() -> None:
        client = Client(base, context, recorder, shop)
        next_at = time.monotonic() + random.random() * interval
        while not stop.is_set():
            pause = next_at - time.monotonic()
            if pause > 0 and stop.wait(pause):
                return
            client.step()
            next_at = max(next_at + interval, time.monotonic() - interval)

    def routing_loop() -> None:
        client = Client(base, context, recorder, shop)
        while not stop.wait(ROUTE_EVERY):
            client.route()

    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    threads.append(threading.Thread(target=routing_loop))
    started = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        stop.wait(duration)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    return time.monotonic() - started


def megabytes(value: int) -> float:
    return round(value / 2**20, 1)


def growth(start: int, end: int) -> float | None:
    return round((end / start - 1) * 100, 1) if start else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="a 30 s run (CI)")
    parser.add_argument("--duration", type=float, default=600, help="seconds")
    parser.add_argument("--rate", type=float, default=20, help="requests per second")
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--web-workers", type=int, default=3)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database.")
    duration = 30.0 if args.short else args.duration
    warmup = min(60.0, duration / 4)

    log = ROOT / "var" / "soak-servers.log"
    log.unlink(missing_ok=True)
    redis = RedisServer()
    redis.log = log
    redis.start()
    os.environ["REDIS_URL"] = redis.url
    os.environ["CELERY_QUEUE"] = f"soak-{os.getpid()}"
    processes = {}
    try:
        context = setup()
        env = {"REDIS_URL": redis.url, "CELERY_QUEUE": os.environ["CELERY_QUEUE"]}
        processes["web"] = Gunicorn(workers=args.web_workers, env=env)
        processes["worker"] = CeleryProcess("worker", env=env)
        processes["beat"] = CeleryProcess("beat", env=env)
        for process in processes.values():
            process.log = log
            process.start()
        recorder, shop = Recorder(), Shop()
        base = processes["web"].url
        memory: dict[str, dict[str, int]] = {"start": {}, "end": {}}

        def measure_after_warmup() -> None:
            time.sleep(warmup)
            for name in ("web", "worker"):
                memory["start"][name] = processes[name].rss_bytes()

        meter = threading.Thread(target=measure_after_warmup, daemon=True)
        meter.start()
        elapsed = run_clients(
            base, context, recorder, shop,
            clients=args.clients, rate=args.rate, duration=duration,
        )  # fmt: skip
        for name in ("web", "worker"):
            memory["end"][name] = processes[name].rss_bytes()
        meter.join()
    finally:
        for process in reversed(list(processes.values())):
            process.stop()
        redis.stop()

    figures = recorder.summary()
    result = {
        "duration_s": round(elapsed, 1),
        "warmup_s": warmup,
        "clients": args.clients,
        "target_rate_per_s": args.rate,
        "throughput_per_s": round(figures["requests"] / elapsed, 1),
        **{k: figures[k] for k in ("requests", "errors", "http_5xx")},
        "writes_p99_ms": figures["writes_p99_ms"],
        "reads_p99_ms": figures["reads_p99_ms"],
        "web_rss_mb": [
            megabytes(memory["start"]["web"]),
            megabytes(memory["end"]["web"]),
        ],
        "worker_rss_mb": [
            megabytes(memory["start"]["worker"]),
            megabytes(memory["end"]["worker"]),
        ],
        "web_rss_growth_pct": growth(memory["start"]["web"], memory["end"]["web"]),
        "worker_rss_growth_pct": growth(
            memory["start"]["worker"], memory["end"]["worker"]
        ),
        "orders_created": shop.orders_created,
        "requests_shipped": shop.shipped,
        "returns_created": shop.returns,
        "routing_runs": shop.routing_runs,
        "by_kind": figures["by_kind"],
        "error_samples": figures["error_samples"],
        "web_workers": args.web_workers,
        "cpu_count": os.cpu_count(),
        "short": args.short,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(
        f"soak {result['duration_s']} s: {result['requests']} requests "
        f"({result['throughput_per_s']}/s), {result['http_5xx']} 5xx, "
        f"{result['errors']} errors, write p99 {result['writes_p99_ms']} ms, "
        f"RSS growth web {result['web_rss_growth_pct']}% / worker "
        f"{result['worker_rss_growth_pct']}%"
    )
    if result["http_5xx"]:
        sys.exit("server errors (5xx) during the soak")


if __name__ == "__main__":
    main()
