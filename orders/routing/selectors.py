"""Read queries of routing and fulfillment, and the side-effect-free simulation."""

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    Min,
    Prefetch,
    Q,
    QuerySet,
)
from django.db.models.functions import Extract
from django.utils import timezone

from inventory.models import Location
from inventory.selectors import locations_for_user, stock_available
from oms.roles import Role, has_role
from orders.models import Order, OrderLine
from orders.routing import engine
from orders.routing.models import (
    ACTIVE_REQUEST_STATUSES,
    BrokeringRun,
    FulfillmentRequest,
    FulfillmentRequestLine,
    QueueSnapshot,
    RoutingRuleSet,
    Shipment,
)
from orders.routing.services import (
    demand_for,
    pickup_decision,
    rejecting_locations,
    routing_locations,
)

QUEUES = [q for q in Order.Queue if q != Order.Queue.NONE]
SIMULATION_LIMIT = 2000


def rule_set_list() -> QuerySet[RoutingRuleSet]:
    return RoutingRuleSet.objects.select_related("periodic_task").order_by("name")


def brokering_run_list() -> QuerySet[BrokeringRun]:
    return BrokeringRun.objects.select_related("rule_set", "started_by")


def queue_sizes() -> list[dict]:
    """Each queue with its size and the age of its oldest order (one query)."""
    rows = {
        row["queue"]: row
        for row in Order.objects.filter(queue__in=[q.value for q in QUEUES])
        .values("queue")
        .annotate(size=Count("id"), oldest=Min("placed_at"))
    }
    now = timezone.now()
    result = []
    for queue in QUEUES:
        row = rows.get(queue.value)
        oldest = row["oldest"] if row else None
        result.append(
            {
                "queue": queue.value,
                "label": queue.label,
                "size": row["size"] if row else 0,
                "oldest_placed_at": oldest,
                "oldest_age_seconds": int((now - oldest).total_seconds())
                if oldest
                else None,
            }
        )
    return result


def queue_orders(*, queue: str) -> QuerySet[Order]:
    return (
        Order.objects.filter(queue=queue)
        .select_related("channel", "routing")
        .order_by("placed_at", "id")
    )


def _visible_to(user) -> Q:
    """Store associates see their locations' requests; CSRs, admins, inventory
    managers and integrations (a WMS) see all."""
    if has_role(user, Role.CSR, Role.INVENTORY_MANAGER, Role.INTEGRATION):
        return Q()
    return Q(location__in=locations_for_user(user=user))


def fulfillment_requests_visible_to(*, user) -> QuerySet[FulfillmentRequest]:
    return FulfillmentRequest.objects.filter(_visible_to(user))


def fulfillment_request_list(
    *, user, status: str = "", location_id: int | None = None, active: bool = False
) -> QuerySet[FulfillmentRequest]:
    """The requests `user` may see, oldest first."""
    queryset = (
        FulfillmentRequest.objects.filter(_visible_to(user))
        .select_related("order", "location")
        .order_by("id")
    )
    if status:
        queryset = queryset.filter(status=status)
    if active:
        queryset = queryset.filter(status__in=ACTIVE_REQUEST_STATUSES)
    if location_id:
        queryset = queryset.filter(location_id=location_id)
    return queryset


def fulfillment_request_get(*, user, pk: int) -> FulfillmentRequest | None:
    """One request with its lines, if `user` may see it (None otherwise: pages and
    the API answer 404 for other locations' requests)."""
    return (
        FulfillmentRequest.objects.filter(_visible_to(user), pk=pk)
        .select_related("order", "location", "invoice")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=FulfillmentRequestLine.objects.select_related("order_line"),
            ),
            "shipments",
        )
        .first()
    )


def order_fulfillment(*, order: Order) -> list[FulfillmentRequest]:
    """An order's requests with their lines, for the order page."""
    return list(
        FulfillmentRequest.objects.filter(order=order)
        .select_related("location")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=FulfillmentRequestLine.objects.select_related("order_line"),
            ),
            "shipments",
        )
        .order_by("id")
    )


def order_short_lines(
    *, order: Order, lines: Iterable[OrderLine]
) -> list[tuple[OrderLine, int]]:
    """The order's open lines that its last brokering run found no stock for at
    any location, with the units missing (from the explanation kept with an order
    it could not place)."""
    routing = getattr(order, "routing", None)
    short = {
        item["line_id"]: item["units"]
        for item in (routing.explanation.get("short", []) if routing else [])
    }
    return [
        (line, short[line.pk])
        for line in lines
        if line.pk in short and line.quantity_open
    ]


def location_codes(ids: Iterable[int]) -> dict[int, str]:
    return dict(Location.objects.filter(pk__in=set(ids)).values_list("pk", "code"))


# Simulation ---------------------------------------------------------------------------


@dataclass
class SimulatedOrder:
    number: str
    draft: dict
    live: dict | None

    @property
    def differs(self) -> bool:
        return self.live is not None and (
            self.draft["locations"] != self.live["locations"]
            or self.draft["outcome"] != self.live["outcome"]
        )


@dataclass
class Totals:
    orders: int = 0
    routed: int = 0
    splits: int = 0
    unfillable: int = 0
    distance_sum: float = 0.0
    distance_count: int = 0

    @property
    def average_distance_km(self) -> float | None:
        if not self.distance_count:
            return None
        return round(self.distance_sum / self.distance_count, 1)

    def as_dict(self) -> dict:
        return {
            "orders": self.orders,
            "routed": self.routed,
            "splits": self.splits,
            "unfillable": self.unfillable,
            "average_distance_km": self.average_distance_km,
        }


@dataclass
class Simulation:
    orders: list[SimulatedOrder] = field(default_factory=list)
    draft: Totals = field(default_factory=Totals)
    live: Totals | None = None
    unknown_numbers: list[str] = field(default_factory=list)

    @property
    def differing(self) -> int:
        return sum(1 for o in self.orders if o.differs)


def _outcome(decision: engine.Decision, codes: dict[int, str], totals: Totals) -> dict:
    totals.orders += 1
    if decision.routed:
        totals.routed += 1
        totals.splits += decision.split
    else:
        totals.unfillable += 1
    chosen = {
        c["location_id"]: c.get("distance_km")
        for c in decision.explanation.get("considered", [])
        if c.get("verdict") in ("chosen", "pickup store")
    }
    for distance in chosen.values():
        if distance is not None and not math.isinf(distance):
            totals.distance_sum += distance
            totals.distance_count += 1
    return {
        "outcome": decision.explanation.get("outcome"),
        "locations": sorted(
            codes.get(a.location_id, "?") for a in decision.assignments
        ),
        "explanation": decision.explanation,
    }


def routing_simulation(
    *,
    rules: engine.Rules,
    safety_stock_override: int | None = None,
    queues: list[str] | None = None,
    order_numbers: list[str] | None = None,
    live_rule_set: RoutingRuleSet | None = None,
    limit: int = SIMULATION_LIMIT,
) -> Simulation:
    """Where the orders of `queues` (or the chosen past or present orders) would go
    under `rules`, against today's stock, next to where the live rule set would send
    them. Reads only: no lock, no reservation, no request, no event, no run row.

    Orders still to route use their open units; past orders their whole quantity
    less what was cancelled. Each rule set draws down its own copy of the stock, in
    the order a run would take the orders."""
    result = Simulation()
    orders = Order.objects.order_by("promise_date", "placed_at", "id")
    if order_numbers:
        numbers = list(dict.fromkeys(order_numbers))
        orders = orders.filter(number__in=numbers)
    else:
        orders = orders.filter(
            queue__in=queues or [Order.Queue.BROKERING, Order.Queue.REJECTED],
            status__in=[Order.Status.OPENED, Order.Status.IN_FULFILLMENT],
        )
    orders = list(orders[:limit])
    if order_numbers:
        found = {o.number for o in orders}
        result.unknown_numbers = [n for n in numbers if n not in found]
    by_id = {o.pk: o for o in orders}
    lines: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for row in OrderLine.objects.filter(order_id__in=by_id).order_by(
        "order_id", "position"
    ):
        units = (
            row.quantity_open
            if by_id[row.order_id].queue
            else (row.quantity - row.quantity_cancelled)
        )
        if units > 0:
            lines[row.order_id].append((row.pk, row.product_id, units))
    excluded = rejecting_locations(by_id)
    locations = routing_locations()
    codes = {loc.id: loc.code for loc in locations}
    product_ids = {p for rows in lines.values() for _, p, _ in rows}
    draft_stock = engine.StockView(
        stock_available(
            product_ids=product_ids, safety_stock_override=safety_stock_override
        )
    )
    live_stock = live_rules = None
    if live_rule_set is not None:
        result.live = Totals()
        live_rules = live_rule_set.engine_rules()
        live_stock = engine.StockView(
            stock_available(
                product_ids=product_ids,
                safety_stock_override=live_rule_set.safety_stock_override,
            )
        )

    def decide(order, rule_set_rules, stock):
        if order.flow == Order.Flow.BOPIS and order.pickup_location_id:
            decision = pickup_decision(
                order, lines[order.pk], stock, codes.get(order.pickup_location_id, "")
            )
        else:
            decision = engine.route(
                demand_for(order, lines[order.pk], excluded[order.pk]),
                locations,
                stock,
                rule_set_rules,
            )
        if decision.routed:
            stock.take(decision)
        return decision

    for order in orders:
        if not lines[order.pk]:
            continue
        draft = _outcome(decide(order, rules, draft_stock), codes, result.draft)
        live = None
        if live_rule_set is not None:
            live = _outcome(decide(order, live_rules, live_stock), codes, result.live)
        result.orders.append(
            SimulatedOrder(number=order.number, draft=draft, live=live)
        )
    return result


def live_rule_set() -> RoutingRuleSet | None:
    """The active rule set that routes the brokering queue (the first, by name)."""
    return next(
        (
            rule_set
            for rule_set in RoutingRuleSet.objects.filter(active=True).order_by("name")
            if Order.Queue.BROKERING in rule_set.queues
        ),
        None,
    )


LEAD_TIME_WINDOW = timedelta(days=14)


def _percentile(sorted_values: list[float], fraction: float) -> float:
    """Linear interpolation between the closest ranks, as PostgreSQL's
    percentile_cont does."""
    position = (len(sorted_values) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (
        position - low
    )


def lead_times_per_location(*, since, locations=None) -> list[dict]:
    """Per location code: the median and 90th percentile, in hours, of the time
    from an order being placed to each of its shipments leaving (or being handed
    over) there, over the shipments since `since`. `locations` limits it to those
    locations. PostgreSQL computes the percentiles; other databases (embedded
    mode) in Python."""
    shipments = Shipment.objects.filter(created_at__gte=since)
    if locations is not None:
        shipments = shipments.filter(request__location__in=locations)
    hours = ExpressionWrapper(
        Extract(F("created_at") - F("request__order__placed_at"), "epoch") / 3600.0,
        output_field=FloatField(),
    )
    if connection.vendor == "postgresql":
        rows = (
            shipments.values(location=F("request__location__code"))
            .annotate(
                median=Percentile(hours, fraction=0.5),
                p90=Percentile(hours, fraction=0.9),
            )
            .order_by("location")
        )
        return [
            {**row, "median": round(row["median"], 1), "p90": round(row["p90"], 1)}
            for row in rows
        ]
    per_location = defaultdict(list)
    for code, shipped_at, placed_at in shipments.values_list(
        "request__location__code", "created_at", "request__order__placed_at"
    ):
        per_location[code].append((shipped_at - placed_at).total_seconds() / 3600)
    return [
        {
            "location": code,
            "median": round(_percentile(sorted(values), 0.5), 1),
            "p90": round(_percentile(sorted(values), 0.9), 1),
        }
        for code, values in sorted(per_location.items())
    ]


class Percentile(Aggregate):
    """PostgreSQL's `percentile_cont(fraction) WITHIN GROUP (ORDER BY …)`."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, *, fraction: float):
        super().__init__(expression, fraction=float(fraction))


def brokering_run_history(*, runs: int = 48) -> dict:
    """The last `runs` finished brokering runs, oldest first, as chart series:
    orders routed, split, unfillable and deferred per run."""
    recent = list(
        BrokeringRun.objects.filter(status=BrokeringRun.Status.COMPLETED)
        .order_by("-id")
        .values(
            "finished_at",
            "orders_routed",
            "orders_split",
            "orders_unfillable",
            "orders_deferred",
        )[:runs]
    )[::-1]
    names = {
        "orders_routed": "routed",
        "orders_split": "split",
        "orders_unfillable": "unfillable",
        "orders_deferred": "deferred",
    }
    return {
        "x": [
            timezone.localtime(run["finished_at"]).strftime("%m-%d %H:%M")
            if run["finished_at"]
            else ""
            for run in recent
        ],
        "series": [
            {"name": name, "values": [run[field] for run in recent]}
            for field, name in names.items()
        ],
    }


def queue_size_history(*, since) -> dict:
    """Queue sizes recorded since `since` (by `routing.record_queue_sizes`), as
    chart series per queue over the snapshot times."""
    snapshots = QueueSnapshot.objects.filter(taken_at__gte=since).values_list(
        "taken_at", "queue", "size"
    )
    times = sorted({taken_at for taken_at, _, _ in snapshots})
    position = {taken_at: n for n, taken_at in enumerate(times)}
    sizes = {queue.value: [0] * len(times) for queue in QUEUES}
    for taken_at, queue, size in snapshots:
        if queue in sizes:
            sizes[queue][position[taken_at]] = size
    return {
        "x": [timezone.localtime(t).strftime("%H:%M") for t in times],
        "series": [
            {"name": queue.label, "values": sizes[queue.value]} for queue in QUEUES
        ],
    }
