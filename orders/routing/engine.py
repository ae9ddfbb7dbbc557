"""The routing engine: where should each order's lines be fulfilled?

Pure: it takes plain data (the order's demand, the candidate locations, a view of the
available stock and the rules) and returns a decision with its explanation. It reads
no database and writes nothing, so a live brokering run and a simulation of a draft
rule set run the very same code; the caller reserves stock for the decision.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum


class SplitPolicy(StrEnum):
    NEVER = "never"
    WHEN_NEEDED = "when_needed"  # split only when no single location has everything
    FREELY = "freely"  # each line goes wherever the criteria rank best


class SortCriterion(StrEnum):
    DISTANCE = "distance"  # nearest to the shipping address first
    PRIORITY = "priority"  # lower routing priority number first
    AVAILABLE_STOCK = "available_stock"  # most stock of the ordered items first
    FEWEST_SPLITS = "fewest_splits"  # covers most of what is still unplaced first


DEFAULT_CRITERIA = (
    SortCriterion.FEWEST_SPLITS,
    SortCriterion.DISTANCE,
    SortCriterion.PRIORITY,
)
EXPLAINED_LOCATIONS = 10  # passed-over locations kept in an explanation, best first


@dataclass(frozen=True)
class Location:
    id: int
    code: str
    type: str
    latitude: float | None
    longitude: float | None
    priority: int
    can_ship: bool
    active: bool


@dataclass(frozen=True)
class Line:
    line_id: int
    product_id: int
    quantity: int


@dataclass(frozen=True)
class Demand:
    order_id: int
    lines: tuple[Line, ...]
    latitude: float | None = None
    longitude: float | None = None
    excluded_location_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Rules:
    location_types: frozenset[str] = frozenset()  # empty: every type
    require_can_ship: bool = True
    exclude_rejecting_locations: bool = True
    sort_criteria: tuple[SortCriterion, ...] = DEFAULT_CRITERIA
    split_policy: SplitPolicy = SplitPolicy.WHEN_NEEDED


@dataclass
class Assignment:
    location_id: int
    # (line_id, product_id, quantity)
    lines: list[tuple[int, int, int]] = field(default_factory=list)


@dataclass
class Decision:
    order_id: int
    assignments: list[Assignment]
    explanation: dict

    @property
    def routed(self) -> bool:
        return bool(self.assignments)

    @property
    def split(self) -> bool:
        return len(self.assignments) > 1


class StockView:
    """Available units per location and product, drawn down as a run places orders so
    that one batch never counts the same unit twice. Indexed by product, since an
    order asks "who has this SKU?" far more often than "what does this store have?"."""

    def __init__(self, available: dict[tuple[int, int], int]):
        self._by_product: dict[int, dict[int, int]] = {}
        for (location_id, product_id), units in available.items():
            if units > 0:
                self._by_product.setdefault(product_id, {})[location_id] = units

    def get(self, location_id: int, product_id: int) -> int:
        return self._by_product.get(product_id, {}).get(location_id, 0)

    def holders(self, product_id: int) -> dict[int, int]:
        """Location id → available units, for the locations that have any."""
        return self._by_product.get(product_id, {})

    def take(self, decision: "Decision") -> None:
        for assignment in decision.assignments:
            for _, product_id, quantity in assignment.lines:
                holders = self._by_product.setdefault(product_id, {})
                left = holders.get(assignment.location_id, 0) - quantity
                if left > 0:
                    holders[assignment.location_id] = left
                else:
                    holders.pop(assignment.location_id, None)

    def copy(self) -> "StockView":
        view = StockView({})
        view._by_product = {p: dict(h) for p, h in self._by_product.items()}
        return view


def distance_km(lat1, lon1, lat2, lon2) -> float:
    """Great-circle distance (haversine); unknown coordinates are infinitely far."""
    if None in (lat1, lon1, lat2, lon2):
        return math.inf
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = (
        math.sin(d_phi / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(min(1.0, a)))


def filter_reason(location: Location, demand: Demand, rules: Rules) -> str | None:
    """Why a location is not a candidate for this order at all, or None."""
    if not location.active:
        return "inactive"
    if rules.location_types and location.type not in rules.location_types:
        return f"type {location.type} not served by the rules"
    if rules.require_can_ship and not location.can_ship:
        return "does not ship"
    if (
        rules.exclude_rejecting_locations
        and location.id in demand.excluded_location_ids
    ):
        return "rejected this order before"
    return None


def route(
    demand: Demand, locations: Iterable[Location], stock: StockView, rules: Rules
) -> Decision:
    """Decide where `demand` goes under `rules`, without changing `stock`.

    A location that has every line is preferred by any policy but `freely`; otherwise
    the order is split if the policy allows, and it is unfillable (no assignment) when
    the candidates together cannot cover every unit: an order is placed whole or not
    at all, so nothing is reserved for an order that must wait.
    """
    filtered: dict[str, int] = {}
    candidates: dict[int, Location] = {}
    for location in locations:
        reason = filter_reason(location, demand, rules)
        if reason:
            filtered[reason] = filtered.get(reason, 0) + 1
        else:
            candidates[location.id] = location
    remaining = {line.line_id: line.quantity for line in demand.lines}
    total_units = sum(remaining.values())

    def needed() -> dict[int, int]:
        """Units still to place per product (two lines may share a product)."""
        need: dict[int, int] = {}
        for line in demand.lines:
            need[line.product_id] = (
                need.get(line.product_id, 0) + remaining[line.line_id]
            )
        return need

    # Only candidates holding some of the ordered items can take part.
    initial_coverage: dict[int, int] = {}
    for product_id, units_needed in needed().items():
        for location_id, units in stock.holders(product_id).items():
            if location_id in candidates:
                initial_coverage[location_id] = initial_coverage.get(
                    location_id, 0
                ) + min(units, units_needed)
    stocked = [candidates[location_id] for location_id in initial_coverage]
    distances = {
        c.id: distance_km(demand.latitude, demand.longitude, c.latitude, c.longitude)
        for c in stocked
    }

    def rank_key(location: Location, covered: int) -> tuple:
        keys = []
        for criterion in rules.sort_criteria:
            if criterion == SortCriterion.DISTANCE:
                keys.append(distances[location.id])
            elif criterion == SortCriterion.PRIORITY:
                keys.append(location.priority)
            elif criterion == SortCriterion.AVAILABLE_STOCK:
                keys.append(
                    -sum(
                        stock.get(location.id, line.product_id) for line in demand.lines
                    )
                )
            elif criterion == SortCriterion.FEWEST_SPLITS:
                keys.append(-covered)
        keys.append(location.id)  # a stable tie-break
        return tuple(keys)

    # Ranked once as the order arrived; the explanation shows this ranking.
    ranking = sorted(stocked, key=lambda c: rank_key(c, initial_coverage[c.id]))
    complete = [c for c in ranking if initial_coverage[c.id] == total_units]
    if complete and rules.split_policy != SplitPolicy.FREELY:
        assignments = [_assign_all(complete[0], demand, remaining, stock)]
    elif rules.split_policy == SplitPolicy.NEVER:
        assignments = []
    elif rules.split_policy == SplitPolicy.FREELY:
        assignments = _assign_line_by_line(demand, ranking, remaining, stock)
    else:
        assignments = _assign_greedily(
            stocked, demand, remaining, stock, rank_key, needed
        )

    if any(remaining.values()):
        assignments = []
    explanation = _explain(
        ranking,
        initial_coverage,
        total_units,
        assignments,
        filtered,
        distances,
        rules,
        without_stock=len(candidates) - len(stocked),
    )
    if not assignments:
        explanation["short"] = _short_lines(demand, candidates, stock)
    return Decision(
        order_id=demand.order_id, assignments=assignments, explanation=explanation
    )


def _short_lines(demand: Demand, candidates, stock: StockView) -> list[dict]:
    """The lines that every candidate's stock together cannot cover, with the
    units missing: what a CSR must swap, cancel or wait for. Empty when the stock
    is there but the split policy keeps the order whole."""
    pooled: dict[int, int] = {}
    short = []
    for line in demand.lines:
        if line.product_id not in pooled:
            pooled[line.product_id] = sum(
                units
                for location_id, units in stock.holders(line.product_id).items()
                if location_id in candidates
            )
        covered = min(pooled[line.product_id], line.quantity)
        pooled[line.product_id] -= covered
        if covered < line.quantity:
            short.append({"line_id": line.line_id, "units": line.quantity - covered})
    return short


def _assign_all(location, demand, remaining, stock) -> Assignment:
    """Place at `location` as much of every line as its stock covers."""
    assignment = Assignment(location_id=location.id)
    used: dict[int, int] = {}
    for line in demand.lines:
        available = stock.get(location.id, line.product_id) - used.get(
            line.product_id, 0
        )
        quantity = min(available, remaining[line.line_id])
        if quantity > 0:
            assignment.lines.append((line.line_id, line.product_id, quantity))
            remaining[line.line_id] -= quantity
            used[line.product_id] = used.get(line.product_id, 0) + quantity
    return assignment


def _assign_greedily(candidates, demand, remaining, stock, rank_key, needed):
    """Take the best-ranked location that still covers something, until every unit is
    placed or no candidate helps any more."""
    assignments: list[Assignment] = []
    pool = list(candidates)
    while any(remaining.values()) and pool:
        need = needed()
        covering = []
        for location in pool:
            covered = sum(
                min(stock.get(location.id, product_id), units)
                for product_id, units in need.items()
            )
            if covered:
                covering.append((rank_key(location, covered), location))
        if not covering:
            break
        best = min(covering, key=lambda pair: pair[0])[1]
        assignments.append(_assign_all(best, demand, remaining, stock))
        pool = [location for _, location in covering if location is not best]
    return assignments


def _assign_line_by_line(demand, ranking, remaining, stock) -> list[Assignment]:
    """Each line, in order, from the best-ranked locations that have it."""
    by_location: dict[int, Assignment] = {}
    used: dict[tuple[int, int], int] = {}
    for line in demand.lines:
        for location in ranking:
            if not remaining[line.line_id]:
                break
            key = (location.id, line.product_id)
            available = stock.get(*key) - used.get(key, 0)
            quantity = min(available, remaining[line.line_id])
            if quantity > 0:
                assignment = by_location.setdefault(
                    location.id, Assignment(location.id)
                )
                assignment.lines.append((line.line_id, line.product_id, quantity))
                remaining[line.line_id] -= quantity
                used[key] = used.get(key, 0) + quantity
    return list(by_location.values())


def _explain(
    ranking,
    coverage,
    total_units,
    assignments,
    filtered,
    distances,
    rules,
    *,
    without_stock: int,
) -> dict:
    """Which locations were considered and why each was passed over; kept with the
    fulfillment request and shown on the order page. Chosen locations and the best
    few passed over are listed; the rest are counted."""
    chosen_ids = {a.location_id for a in assignments}
    passed_over = [c for c in ranking if c.id not in chosen_ids][:EXPLAINED_LOCATIONS]
    considered = []
    for location in [c for c in ranking if c.id in chosen_ids] + passed_over:
        if location.id in chosen_ids:
            verdict = "chosen"
        elif coverage[location.id] < total_units:
            verdict = f"has {coverage[location.id]} of {total_units} units"
        else:
            verdict = "ranked lower by the sort criteria"
        distance = distances[location.id]
        considered.append(
            {
                "location_id": location.id,
                "code": location.code,
                "distance_km": None if math.isinf(distance) else round(distance, 1),
                "priority": location.priority,
                "verdict": verdict,
            }
        )
    if assignments:
        outcome = "split" if len(assignments) > 1 else "routed"
    else:
        outcome = "unfillable"
    return {
        "outcome": outcome,
        "split_policy": str(rules.split_policy),
        "sort_criteria": [str(c) for c in rules.sort_criteria],
        "candidates": len(ranking) + without_stock,
        "without_stock": without_stock,
        "filtered_out": filtered,
        "considered": considered,
    }
