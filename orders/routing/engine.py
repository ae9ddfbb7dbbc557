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
    """Available units per (location id, product id), drawn down as a run places
    orders so that one batch never counts the same unit twice."""

    def __init__(self, available: dict[tuple[int, int], int]):
        self._available = dict(available)

    def get(self, location_id: int, product_id: int) -> int:
        return max(self._available.get((location_id, product_id), 0), 0)

    def take(self, decision: Decision) -> None:
        for assignment in decision.assignments:
            for _, product_id, quantity in assignment.lines:
                key = (assignment.location_id, product_id)
                self._available[key] = self._available.get(key, 0) - quantity

    def copy(self) -> "StockView":
        return StockView(self._available)


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
    candidates: list[Location] = []
    for location in locations:
        reason = filter_reason(location, demand, rules)
        if reason:
            filtered[reason] = filtered.get(reason, 0) + 1
        else:
            candidates.append(location)
    distances = {
        c.id: distance_km(demand.latitude, demand.longitude, c.latitude, c.longitude)
        for c in candidates
    }
    remaining = {line.line_id: line.quantity for line in demand.lines}

    def coverage(location: Location) -> int:
        return sum(
            min(stock.get(location.id, line.product_id), remaining[line.line_id])
            for line in demand.lines
        )

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

    def current_rank(location: Location) -> tuple:
        return rank_key(location, coverage(location))

    total_units = sum(remaining.values())
    # Ranked once as the order arrived; the explanation shows this ranking.
    initial_coverage = {c.id: coverage(c) for c in candidates}
    ranking = sorted(candidates, key=lambda c: rank_key(c, initial_coverage[c.id]))
    complete = [c for c in ranking if initial_coverage[c.id] == total_units]
    if complete and rules.split_policy != SplitPolicy.FREELY:
        assignments = [_assign_all(complete[0], demand, remaining, stock)]
    elif rules.split_policy == SplitPolicy.NEVER:
        assignments = []
    elif rules.split_policy == SplitPolicy.FREELY:
        assignments = _assign_line_by_line(demand, ranking, remaining, stock)
    else:
        assignments = _assign_greedily(
            candidates, demand, remaining, stock, current_rank
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
    )
    return Decision(
        order_id=demand.order_id, assignments=assignments, explanation=explanation
    )


def _assign_all(location, demand, remaining, stock) -> Assignment:
    assignment = Assignment(location_id=location.id)
    for line in demand.lines:
        quantity = min(stock.get(location.id, line.product_id), remaining[line.line_id])
        if quantity:
            assignment.lines.append((line.line_id, line.product_id, quantity))
            remaining[line.line_id] -= quantity
    return assignment


def _assign_greedily(
    candidates, demand, remaining, stock, rank_key
) -> list[Assignment]:
    """Take the best-ranked location that still covers something, until every unit is
    placed or no candidate helps any more."""
    assignments: list[Assignment] = []
    pool = list(candidates)
    while any(remaining.values()) and pool:
        pool = [
            c
            for c in pool
            if any(
                remaining[line.line_id] and stock.get(c.id, line.product_id)
                for line in demand.lines
            )
        ]
        if not pool:
            break
        best = min(pool, key=rank_key)
        assignments.append(_assign_all(best, demand, remaining, stock))
        pool.remove(best)
    return assignments


def _assign_line_by_line(demand, ranking, remaining, stock) -> list[Assignment]:
    """Each line, in order, from the best-ranked locations that have it."""
    by_location: dict[int, Assignment] = {}
    for line in demand.lines:
        for location in ranking:
            if not remaining[line.line_id]:
                break
            quantity = min(
                stock.get(location.id, line.product_id), remaining[line.line_id]
            )
            if quantity:
                assignment = by_location.setdefault(
                    location.id, Assignment(location.id)
                )
                assignment.lines.append((line.line_id, line.product_id, quantity))
                remaining[line.line_id] -= quantity
    return list(by_location.values())


def _explain(
    ranking, coverage, total_units, assignments, filtered, distances, rules
) -> dict:
    """Which locations were considered and why each was passed over; kept with the
    fulfillment request and shown on the order page."""
    chosen_ids = {a.location_id for a in assignments}
    considered = []
    for location in ranking:
        if location.id in chosen_ids:
            verdict = "chosen"
        elif coverage[location.id] == 0:
            verdict = "no stock of the ordered items"
        elif coverage[location.id] < total_units:
            verdict = f"has {coverage[location.id]} of {total_units} units"
        else:
            verdict = "ranked lower by the sort criteria"
        considered.append(
            {
                "location_id": location.id,
                "code": location.code,
                "distance_km": None
                if math.isinf(distances[location.id])
                else round(distances[location.id], 1),
                "priority": location.priority,
                "verdict": verdict,
            }
        )
    kept = [c for c in considered if c["verdict"] == "chosen"]
    kept += [c for c in considered if c["verdict"] != "chosen"][:EXPLAINED_LOCATIONS]
    if assignments:
        outcome = "split" if len(assignments) > 1 else "routed"
    else:
        outcome = "unfillable"
    return {
        "outcome": outcome,
        "split_policy": str(rules.split_policy),
        "sort_criteria": [str(c) for c in rules.sort_criteria],
        "candidates": len(ranking),
        "filtered_out": filtered,
        "considered": kept,
    }
