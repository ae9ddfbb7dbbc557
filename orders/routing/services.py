"""Write use-cases of routing ("brokering") and fulfillment.

Lock order, shared with `orders.services`: the order row first, then its
fulfillment requests, then reservations, then stock levels (in (location, product)
order, inside `inventory.services`). Requests from people and integrations lock the
order with NOWAIT (a 409 `order_busy` when a run or a CSR holds it); brokering runs
and sweeps skip locked orders and take them next time.
"""

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_fsm import TransitionNotAllowed, can_proceed

from inventory.models import Location, Product
from inventory.selectors import stock_available
from inventory.services import (
    ReservationRequest,
    reservation_consume,
    reservations_create_bulk,
    reservations_release,
    stock_levels_lock_reserved,
)
from oms.bulk import insert_rows, save_fields
from oms.errors import ApplicationError, Conflict
from oms.queueing import enqueue_on_commit
from oms.services.events import actor_name, record_event, record_events
from oms.services.transitions import apply_transition, apply_transitions
from orders.models import Channel, Order, OrderLine
from orders.refund_calculator import shipment_amount
from orders.routing import engine
from orders.routing.models import (
    ACTIVE_REQUEST_STATUSES,
    BrokeringRun,
    FulfillmentRequest,
    FulfillmentRequestLine,
    Invoice,
    OrderRouting,
    QueueSnapshot,
    RoutingRuleSet,
    Shipment,
)
from orders.services import (
    line_amounts,
    lock_order,
    order_account,
    order_cancel,
    order_complete_if_done,
    order_lines_cancel,
)
from orders.workflows.models import WorkflowStage
from orders.workflows.runner import run_stage, transition_atomic
from payments.services import payment_capture

OWNER_TYPE = "order_line"
BATCH_SIZE = 500
SWEEP_BATCH = 200
BROKERING_TASK = "routing.run_brokering"
ROUTABLE_STATUSES = [Order.Status.OPENED, Order.Status.IN_FULFILLMENT]
PARKINGS = [Order.Queue.PRE_ORDER, Order.Queue.BACKORDER]
RELEASABLE = [
    Order.Queue.PRE_ORDER,
    Order.Queue.BACKORDER,
    Order.Queue.UNFILLABLE,
    Order.Queue.UNFILLABLE_HOLD,
    Order.Queue.REJECTED,
]


def pickup_days() -> int:
    return getattr(settings, "OMS_PICKUP_DEADLINE_DAYS", 7)


# Rule sets ----------------------------------------------------------------------------

RULE_FIELDS = (
    "name",
    "description",
    "queues",
    "location_types",
    "require_can_ship",
    "exclude_rejecting_locations",
    "sort_criteria",
    "split_policy",
    "safety_stock_override",
    "active",
    "run_every_minutes",
)


def rule_set_errors(fields: dict) -> dict[str, list[str]]:
    """Field errors of rule-set data (shared by the API, the page and simulation)."""
    errors: dict[str, list[str]] = {}
    queues = fields.get("queues", [])
    routable = {Order.Queue.BROKERING, Order.Queue.REJECTED, Order.Queue.UNFILLABLE}
    if "queues" in fields and (
        not queues or not isinstance(queues, list) or set(queues) - routable
    ):
        errors["queues"] = [
            "Choose one or more of: " + ", ".join(sorted(str(q) for q in routable))
        ]
    types = fields.get("location_types", [])
    if not isinstance(types, list) or set(types) - set(Location.Type.values):
        errors["location_types"] = ["Only store and dc."]
    criteria = fields.get("sort_criteria", [])
    valid = {c.value for c in engine.SortCriterion}
    if "sort_criteria" in fields and (
        not isinstance(criteria, list)
        or not criteria
        or set(criteria) - valid
        or len(set(criteria)) != len(criteria)
    ):
        errors["sort_criteria"] = [
            "Give each of these at most once, in order: " + ", ".join(sorted(valid))
        ]
    policy = fields.get("split_policy", engine.SplitPolicy.WHEN_NEEDED)
    if policy not in {p.value for p in engine.SplitPolicy}:
        errors["split_policy"] = ["never, when_needed or freely."]
    if "name" in fields and not str(fields["name"]).strip():
        errors["name"] = ["A name is required."]
    for name in ("safety_stock_override", "run_every_minutes"):
        value = fields.get(name)
        if value is not None and (not isinstance(value, int) or value < 0):
            errors[name] = ["A whole number, zero or more."]
    if fields.get("run_every_minutes") == 0:
        errors["run_every_minutes"] = ["Leave empty to run by hand only."]
    return errors


def _sync_schedule(rule_set: RoutingRuleSet) -> None:
    """Keep the rule set's beat entry in step: enabled while the rule set is active
    and has a frequency, removed otherwise."""
    wanted = rule_set.active and rule_set.run_every_minutes
    task = rule_set.periodic_task
    if not wanted:
        if task is not None:
            rule_set.periodic_task = None
            rule_set.save(update_fields=["periodic_task"])
            task.delete()
        return
    schedule, _ = IntervalSchedule.objects.get_or_create(
        every=rule_set.run_every_minutes, period=IntervalSchedule.MINUTES
    )
    if task is None:
        task = PeriodicTask(name=f"Brokering: rule set {rule_set.pk}")
    task.task = BROKERING_TASK
    task.interval = schedule
    task.kwargs = json.dumps({"rule_set_id": rule_set.pk})
    task.enabled = True
    task.save()
    if rule_set.periodic_task_id != task.pk:
        rule_set.periodic_task = task
        rule_set.save(update_fields=["periodic_task"])


def _save_rule_set(rule_set: RoutingRuleSet, fields: dict) -> RoutingRuleSet:
    unknown = set(fields) - set(RULE_FIELDS)
    errors = rule_set_errors(fields)
    errors.update({name: ["Unknown field."] for name in unknown})
    name = fields.get("name", rule_set.name)
    if (
        name
        and RoutingRuleSet.objects.filter(name=name).exclude(pk=rule_set.pk).exists()
    ):
        errors["name"] = ["Another rule set has this name."]
    if errors:
        raise ApplicationError(
            "The rule set is not valid.",
            code="invalid_rule_set",
            field_errors=errors,
        )
    for key, value in fields.items():
        setattr(rule_set, key, value)
    rule_set.save()
    _sync_schedule(rule_set)
    return rule_set


def rule_set_create(*, actor=None, **fields) -> RoutingRuleSet:
    """A new rule set; its beat schedule follows `active` and `run_every_minutes`."""
    fields.setdefault("queues", [Order.Queue.BROKERING, Order.Queue.REJECTED])
    fields.setdefault("sort_criteria", [c.value for c in engine.DEFAULT_CRITERIA])
    if "name" not in fields:
        fields["name"] = ""
    with transaction.atomic():
        return _save_rule_set(RoutingRuleSet(), fields)


def rule_set_update(
    *, rule_set: RoutingRuleSet, actor=None, **fields
) -> RoutingRuleSet:
    """Change a rule set and its schedule together. Locks the rule set row."""
    with transaction.atomic():
        locked = RoutingRuleSet.objects.select_for_update().get(pk=rule_set.pk)
        return _save_rule_set(locked, fields)


def rule_set_delete(*, rule_set: RoutingRuleSet) -> None:
    """Delete a rule set that never ran (with its schedule); one with runs keeps its
    history: deactivate it instead (409)."""
    with transaction.atomic():
        locked = RoutingRuleSet.objects.select_for_update().get(pk=rule_set.pk)
        if locked.runs.exists():
            raise Conflict(
                "This rule set has brokering runs; deactivate it instead.",
                code="rule_set_in_use",
            )
        task = locked.periodic_task
        locked.delete()
        if task is not None:
            task.delete()


# Brokering runs -----------------------------------------------------------------------


def brokering_run_start(
    *, rule_set: RoutingRuleSet, actor=None, enqueue: bool = True
) -> BrokeringRun:
    """Queue a run of `rule_set` (by hand or by beat); the task executes it after
    commit. An inactive rule set cannot run (400)."""
    if not rule_set.active:
        raise ApplicationError(
            f"Rule set {rule_set.name} is inactive; activate it or simulate it.",
            code="rule_set_inactive",
        )
    from orders.routing import tasks

    with transaction.atomic():
        run = BrokeringRun.objects.create(
            rule_set=rule_set,
            lease_expires_at=_lease_end(settings.OMS_BROKERING_RUN_QUEUED_SECONDS),
            started_by=actor if getattr(actor, "is_authenticated", False) else None,
            orders_total=Order.objects.filter(
                queue__in=rule_set.queues, status__in=ROUTABLE_STATUSES
            ).count(),
        )
        if enqueue:
            enqueue_on_commit(tasks.run_brokering_task, run_id=run.pk)
    return run


def brokering_run_for_schedule(*, rule_set_id: int) -> BrokeringRun | None:
    """What beat asks each period: a new run of the rule set, unless it is inactive,
    a run of it is under way, or nothing waits (no run row then, so the history shows
    runs that did work). The rule set row is locked while deciding, so two beat ticks
    or a redelivered message never queue two runs."""
    brokering_runs_fail_abandoned()
    with transaction.atomic():
        rule_set = (
            RoutingRuleSet.objects.select_for_update()
            .filter(pk=rule_set_id, active=True)
            .first()
        )
        if rule_set is None:
            return None
        waiting = Order.objects.filter(
            queue__in=rule_set.queues, status__in=ROUTABLE_STATUSES
        ).exists()
        under_way = BrokeringRun.objects.filter(
            rule_set=rule_set,
            status__in=[BrokeringRun.Status.QUEUED, BrokeringRun.Status.RUNNING],
        ).exists()
        if not waiting or under_way:
            return None
        return brokering_run_start(rule_set=rule_set, enqueue=False)


def _lease_end(seconds: int):
    return timezone.now() + timedelta(seconds=seconds)


def brokering_runs_fail_abandoned() -> int:
    """Runs queued or running past their lease (their worker died, or the message
    is gone) are marked failed, so the rule set's schedule starts fresh ones. Whatever
    they committed stays: each batch was whole. A run inside a batch holds its row
    locked (skipped here); between batches it stops at its next batch, once failed,
    so no order is routed by two runs."""
    failed = 0
    with transaction.atomic():
        for run in BrokeringRun.objects.select_for_update(skip_locked=True).filter(
            status__in=[BrokeringRun.Status.QUEUED, BrokeringRun.Status.RUNNING],
            lease_expires_at__lt=timezone.now(),
        ):
            apply_transition(
                run, "fail", reason="Abandoned", error="Abandoned: its lease expired."
            )
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "error", "finished_at"])
            failed += 1
    return failed


def routing_locations() -> list[engine.Location]:
    return [
        engine.Location(
            id=loc.pk,
            code=loc.code,
            type=loc.type,
            latitude=None if loc.latitude is None else float(loc.latitude),
            longitude=None if loc.longitude is None else float(loc.longitude),
            priority=loc.routing_priority,
            can_ship=loc.can_ship,
            active=loc.active,
        )
        for loc in Location.objects.order_by("id")
    ]


@dataclass
class BatchResult:
    seen: int = 0
    routed: int = 0
    split: int = 0
    unfillable: int = 0
    deferred: int = 0
    stay: set[int] = field(default_factory=set)


def brokering_run_execute(
    *,
    run_id: int,
    batch_size: int = BATCH_SIZE,
    on_batch: Callable[[BrokeringRun], None] | None = None,
) -> BrokeringRun:
    """Route the orders of the run's queues, batch after batch, until none is left.

    Each batch is ONE transaction: its orders are locked with SKIP LOCKED (so two
    runs never take the same order), their reservations, fulfillment requests, line
    states, queues and the run's counters commit together. A run that dies mid-way
    therefore leaves each order routed with its reservations or still queued, and
    the next run carries on. One commit per batch also keeps the number of queries
    proportional to batches, not orders. `on_batch` is called after each commit
    (progress reporting). A finished run is left alone; a running one is resumed
    (the task redelivered after its worker died: `task_acks_late`). A copy of the
    task delivered while the run is in a batch waits for that batch (the run's row
    is locked) and then works beside it: skipping would acknowledge the message
    that a crash of the first worker needs redelivered."""
    with transaction.atomic():
        run = (
            BrokeringRun.objects.select_for_update(of=("self",))
            .select_related("rule_set")
            .filter(
                pk=run_id,
                status__in=[BrokeringRun.Status.QUEUED, BrokeringRun.Status.RUNNING],
            )
            .first()
        )
        if run is None:
            return BrokeringRun.objects.get(pk=run_id)
        if run.status == BrokeringRun.Status.QUEUED:
            apply_transition(run, "start")
            run.started_at = timezone.now()
        run.lease_expires_at = _lease_end(settings.OMS_BROKERING_RUN_LEASE_SECONDS)
        run.save(update_fields=["status", "started_at", "lease_expires_at"])
    try:
        rule_set = run.rule_set
        locations = routing_locations()
        safety = {loc.pk: loc.safety_stock for loc in Location.objects.all()}
        auto_cancel = dict(Channel.objects.values_list("pk", "auto_cancel_days"))
        stay: set[int] = set()
        while True:
            with transaction.atomic():
                if not _run_holds_lease(run):
                    return run
                result = _route_batch(
                    run=run,
                    rule_set=rule_set,
                    locations=locations,
                    safety=safety,
                    auto_cancel=auto_cancel,
                    exclude=stay,
                    batch_size=batch_size,
                )
                if not result.seen:
                    break
                BrokeringRun.objects.filter(pk=run.pk).update(
                    orders_seen=F("orders_seen") + result.seen,
                    orders_routed=F("orders_routed") + result.routed,
                    orders_split=F("orders_split") + result.split,
                    orders_unfillable=F("orders_unfillable") + result.unfillable,
                    orders_deferred=F("orders_deferred") + result.deferred,
                    lease_expires_at=_lease_end(
                        settings.OMS_BROKERING_RUN_LEASE_SECONDS
                    ),
                )
            stay |= result.stay
            if on_batch is not None:
                run.refresh_from_db()
                on_batch(run)
    except Exception as exc:
        with transaction.atomic():
            run = BrokeringRun.objects.select_for_update().get(pk=run.pk)
            apply_transition(run, "fail", reason=str(exc)[:500], error=repr(exc))
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "error", "finished_at"])
        raise
    with transaction.atomic():
        run = BrokeringRun.objects.select_for_update().get(pk=run.pk)
        if run.status == BrokeringRun.Status.RUNNING:  # not completed by a copy
            apply_transition(run, "complete")
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "finished_at"])
    return run


def _run_holds_lease(run: BrokeringRun) -> bool:
    """Lock the run's row for the batch (the abandoned-run sweep skips it) and say
    whether it is still running: a run failed by that sweep routes nothing more."""
    locked = BrokeringRun.objects.select_for_update().filter(
        pk=run.pk, status=BrokeringRun.Status.RUNNING
    )
    return bool(list(locked.values_list("pk", flat=True)))


def _batch_orders(queues, exclude, batch_size) -> list[Order]:
    return list(
        Order.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(queue__in=queues, status__in=ROUTABLE_STATUSES)
        .exclude(pk__in=exclude)
        .order_by(F("promise_date").asc(nulls_last=True), "placed_at", "id")
        .only(
            "id",
            "number",
            "status",
            "queue",
            "order_type",
            "channel_id",
            "shipping_address",
            "pickup_location_id",
        )[:batch_size]
    )


def _coordinate(address: dict, key: str) -> float | None:
    try:
        return float(address.get(key))
    except (TypeError, ValueError):
        return None


def demand_for(order: Order, lines: list, excluded: Iterable[int]) -> engine.Demand:
    """The engine's view of what is still to place for `order`; `lines` are
    (line_id, product_id, quantity) triples."""
    address = order.shipping_address or {}
    return engine.Demand(
        order_id=order.pk,
        lines=tuple(engine.Line(*line) for line in lines),
        latitude=_coordinate(address, "latitude"),
        longitude=_coordinate(address, "longitude"),
        excluded_location_ids=frozenset(excluded),
    )


def rejecting_locations(order_ids: Iterable[int]) -> dict[int, set[int]]:
    """Order id → the locations that rejected some of it before."""
    excluded: dict[int, set[int]] = defaultdict(set)
    order_ids = list(order_ids)
    if not order_ids:
        return excluded
    for order_id, location_id in (
        FulfillmentRequestLine.objects.filter(
            request__order_id__in=order_ids, quantity_rejected__gt=0
        )
        .values_list("request__order_id", "request__location_id")
        .distinct()
    ):
        excluded[order_id].add(location_id)
    return excluded


def pickup_decision(
    order: Order, lines: list, stock: engine.StockView, code: str = ""
) -> engine.Decision:
    """A BOPIS order goes to its pickup store without brokering: all of it there, or
    (when the store lacks stock) nowhere."""
    location_id = order.pickup_location_id
    if all(stock.get(location_id, product) >= qty for _, product, qty in lines):
        explanation = {
            "outcome": "routed",
            "pickup": True,
            "considered": [
                {"location_id": location_id, "code": code, "verdict": "pickup store"}
            ],
        }
        return engine.Decision(
            order.pk, [engine.Assignment(location_id, list(lines))], explanation
        )
    explanation = {
        "outcome": "unfillable",
        "pickup": True,
        "considered": [
            {
                "location_id": location_id,
                "code": code,
                "verdict": "pickup store lacks stock",
            }
        ],
    }
    return engine.Decision(order.pk, [], explanation)


def _route_batch(
    *,
    run,
    rule_set,
    locations,
    safety,
    auto_cancel,
    exclude,
    batch_size,
) -> BatchResult:
    result = BatchResult()
    orders = _batch_orders(rule_set.queues, exclude, batch_size)
    if not orders:
        return result
    result.seen = len(orders)
    by_id = {order.pk: order for order in orders}
    lines: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for line_id, order_id, product_id, quantity in (
        OrderLine.objects.filter(order_id__in=by_id, quantity_open__gt=0)
        .order_by("order_id", "position")
        .values_list("id", "order_id", "product_id", "quantity_open")
    ):
        lines[order_id].append((line_id, product_id, quantity))
    # Only an order already with a location may have been rejected by one.
    excluded = rejecting_locations(
        [pk for pk, o in by_id.items() if o.status == Order.Status.IN_FULFILLMENT]
    )
    product_ids = {product for rows in lines.values() for _, product, _ in rows}
    stock = engine.StockView(
        stock_available(
            product_ids=product_ids,
            safety_stock_override=rule_set.safety_stock_override,
        )
    )
    rules = rule_set.engine_rules()
    codes = {location.id: location.code for location in locations}
    decisions: dict[int, engine.Decision] = {}
    for order in orders:
        if not lines[order.pk]:
            continue
        if order.flow == Order.Flow.BOPIS and order.pickup_location_id:
            decision = pickup_decision(
                order, lines[order.pk], stock, codes.get(order.pickup_location_id, "")
            )
        else:
            decision = engine.route(
                demand_for(order, lines[order.pk], excluded[order.pk]),
                locations,
                stock,
                rules,
            )
        if decision.routed:
            stock.take(decision)
        decisions[order.pk] = decision

    routed, unfillable, failed = _place(
        run=run,
        orders=by_id,
        decisions=decisions,
        safety=safety,
        safety_override=rule_set.safety_stock_override,
        auto_cancel=auto_cancel,
    )
    result.deferred = len(failed)
    result.stay |= failed
    result.routed = len(routed)
    result.split = sum(1 for d in routed if d.split)
    result.unfillable = len(unfillable)
    result.stay |= {
        d.order_id
        for d in unfillable
        if by_id[d.order_id].queue in rule_set.queues
        and _parking_for(by_id[d.order_id]) in rule_set.queues
    }
    # Orders with nothing open left (cancelled lines since) leave the queue.
    empty = [pk for pk in by_id if pk not in decisions]
    if empty:
        Order.objects.filter(pk__in=empty).update(queue=Order.Queue.NONE)
    return result


def _place(*, run, orders, decisions, safety, safety_override, auto_cancel):
    """Reserve, then create the requests of the routed decisions and park the rest.

    Every routed line is reserved at once; an order with any refused reservation (a
    race with another writer since the stock was read) gives back the rest and
    waits in its queue for the next run. Returns (routed, unfillable, deferred ids).
    """
    requests, owners = [], []
    for decision in decisions.values():
        for assignment in decision.assignments:
            for line_id, product_id, quantity in assignment.lines:
                requests.append(
                    ReservationRequest(
                        location_id=assignment.location_id,
                        product_id=product_id,
                        quantity=quantity,
                        owner_id=str(line_id),
                        safety_stock=safety.get(assignment.location_id, 0)
                        if safety_override is None
                        else safety_override,
                    )
                )
                owners.append(decision.order_id)
    reserved = reservations_create_bulk(owner_type=OWNER_TYPE, requests=requests)
    failed = {owner for owner, ok in zip(owners, reserved, strict=True) if not ok}
    for request, owner, ok in zip(requests, owners, reserved, strict=True):
        if ok and owner in failed:
            reservations_release(
                owner_type=OWNER_TYPE,
                owner_id=request.owner_id,
                location=Location(pk=request.location_id),
                product=Product(pk=request.product_id),
                quantity=request.quantity,
            )
    now = timezone.now()
    routed = [d for d in decisions.values() if d.routed and d.order_id not in failed]
    unfillable = [d for d in decisions.values() if not d.routed]
    _create_requests(run=run, orders=orders, decisions=routed, now=now)
    _park(
        orders=orders, decisions=unfillable, run=run, auto_cancel=auto_cancel, now=now
    )
    record_events(
        [
            (
                "order.alternative_requested",
                orders[d.order_id],
                {
                    "number": orders[d.order_id].number,
                    "reason": "The pickup store does not have the items.",
                },
            )
            for d in unfillable
            if orders[d.order_id].flow == Order.Flow.BOPIS
        ]
    )
    return routed, unfillable, failed


def pickup_route(*, order: Order) -> bool:
    """Send a just-opened BOPIS order straight to its pickup store, without
    brokering (called by `orders.services` inside its transaction, order locked):
    reserved there with `fulfillment_request.assigned`, or, when the store lacks the
    stock, parked in `bopis_rejected` with `order.alternative_requested`. Returns
    whether it was placed."""
    lines = list(
        OrderLine.objects.filter(order=order, quantity_open__gt=0)
        .order_by("position")
        .values_list("id", "product_id", "quantity_open")
    )
    if not lines or order.pickup_location_id is None:
        return False
    location = order.pickup_location
    stock = engine.StockView(
        stock_available(
            product_ids={product for _, product, _ in lines},
            location_ids=[location.pk],
        )
    )
    decision = pickup_decision(order, lines, stock, location.code)
    routed, _, _ = _place(
        run=None,
        orders={order.pk: order},
        decisions={order.pk: decision},
        safety={location.pk: location.safety_stock},
        safety_override=None,
        auto_cancel={},
    )
    order.refresh_from_db(fields=["status", "queue"])
    return bool(routed)


def _parking_for(order: Order) -> str:
    if order.flow == Order.Flow.BOPIS:
        return Order.Queue.BOPIS_REJECTED
    return Order.Queue.UNFILLABLE


def _create_requests(*, run, orders, decisions, now) -> None:
    """Fulfillment requests, their lines, the lines' allocation and the orders'
    move into fulfillment for the routed `decisions` (bulk statements)."""
    if not decisions:
        return
    counts = defaultdict(int)
    # Only orders already in fulfillment can have requests (numbers go on).
    for order_id in FulfillmentRequest.objects.filter(
        order_id__in=[
            d.order_id
            for d in decisions
            if orders[d.order_id].status == Order.Status.IN_FULFILLMENT
        ]
    ).values_list("order_id", flat=True):
        counts[order_id] += 1
    # Plain rows, not model instances: thousands per batch, written in one INSERT.
    requests, request_lines, allocated = [], [], []
    for decision in decisions:
        order = orders[decision.order_id]
        for assignment in decision.assignments:
            counts[order.pk] += 1
            row = {
                "number": f"{order.number}-F{counts[order.pk]}",
                "order": order.pk,
                "location": assignment.location_id,
                "status": FulfillmentRequest.Status.ASSIGNED,
                "is_pickup": order.flow == Order.Flow.BOPIS,
                "brokering_run": run.pk if run else None,
                "explanation": decision.explanation,
                "rejection_reason": "",
                "created_at": now,
                "updated_at": now,
            }
            requests.append((row, assignment))
    ids = dict(
        insert_rows(
            FulfillmentRequest, [row for row, _ in requests], returning=("number", "id")
        )
    )
    events = []
    for row, assignment in requests:
        request_id = ids[row["number"]]
        lines = []
        for line_id, _, quantity in assignment.lines:
            request_lines.append(
                {
                    "request": request_id,
                    "order_line": line_id,
                    "quantity": quantity,
                    "quantity_rejected": 0,
                    "quantity_shipped": 0,
                    "quantity_withdrawn": 0,
                    "rejection_reason": "",
                }
            )
            allocated.append((line_id, quantity))
            lines.append({"line_id": line_id, "quantity": quantity})
        events.append(
            (
                "fulfillment_request.assigned",
                FulfillmentRequest(pk=request_id),
                {
                    "number": row["number"],
                    "order_number": orders[row["order"]].number,
                    "location_id": row["location"],
                    "is_pickup": row["is_pickup"],
                    "lines": lines,
                },
            )
        )
    insert_rows(FulfillmentRequestLine, request_lines)
    _allocate_lines(allocated)
    routed_ids = [d.order_id for d in decisions]
    routed_orders = [orders[order_id] for order_id in routed_ids]
    started = [o for o in routed_orders if o.status == Order.Status.OPENED]
    apply_transitions(
        started,
        "start_fulfillment",
        reason=f"Routed by brokering run {run.pk}."
        if run
        else "Sent to its pickup store.",
    )
    for order in routed_orders:
        order.queue = Order.Queue.NONE
        order.updated_at = now
    save_fields(routed_orders, ["status", "queue", "updated_at"])
    OrderRouting.objects.filter(order_id__in=routed_ids).update(
        auto_cancel_at=None, last_run=run
    )
    record_events(events)
    run_stage(orders=started, stage=WorkflowStage.IN_FULFILLMENT)


def _allocate_lines(allocated: list[tuple[int, int]]) -> None:
    """Move units of order lines from open to allocated, one UPDATE for all. A line
    split over several locations appears once per location: summed first, since an
    UPDATE ... FROM applies only one joined row per target row."""
    if not allocated:
        return
    units: dict[int, int] = defaultdict(int)
    for line_id, quantity in allocated:
        units[line_id] += quantity
    allocated = sorted(units.items())
    if connection.vendor != "postgresql":
        for line_id, quantity in allocated:
            OrderLine.objects.filter(pk=line_id).update(
                quantity_open=F("quantity_open") - quantity,
                quantity_allocated=F("quantity_allocated") + quantity,
            )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE orders_orderline l
            SET quantity_open = l.quantity_open - v.quantity,
                quantity_allocated = l.quantity_allocated + v.quantity
            FROM jsonb_to_recordset(%s::jsonb) AS v(id bigint, quantity int)
            WHERE l.id = v.id
            """,
            [json.dumps([{"id": i, "quantity": q} for i, q in allocated])],
        )


def _park(*, orders, decisions, run, auto_cancel, now) -> None:
    """Orders that could not be placed: into `unfillable` (auto-cancel date set the
    first time, from the channel) or, for BOPIS, `bopis_rejected`; the engine's
    explanation kept with the order."""
    if not decisions:
        return
    existing = dict(
        OrderRouting.objects.filter(
            order_id__in=[d.order_id for d in decisions]
        ).values_list("order_id", "auto_cancel_at")
    )
    rows = []
    by_queue = defaultdict(list)
    for decision in decisions:
        order = orders[decision.order_id]
        queue = _parking_for(order)
        by_queue[queue].append(order.pk)
        cancel_at = existing.get(order.pk)
        if queue == Order.Queue.UNFILLABLE and cancel_at is None:
            cancel_at = now + timedelta(days=auto_cancel.get(order.channel_id, 7))
        rows.append(
            OrderRouting(
                order_id=order.pk,
                explanation=decision.explanation,
                auto_cancel_at=cancel_at,
                last_run=run,
                updated_at=now,
            )
        )
    OrderRouting.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["order"],
        update_fields=["explanation", "auto_cancel_at", "last_run", "updated_at"],
    )
    for queue, ids in by_queue.items():
        Order.objects.filter(pk__in=ids).update(queue=queue, updated_at=now)


# Fulfillment requests -----------------------------------------------------------------


def _locked_request(request: FulfillmentRequest) -> tuple[Order, FulfillmentRequest]:
    """The request's order (NOWAIT, with its lines) and then the request, locked."""
    order = lock_order(order_id=request.order_id)
    locked = (
        FulfillmentRequest.objects.select_for_update(of=("self",))
        .select_related("location")
        .get(pk=request.pk)
    )
    locked.locked_lines = list(locked.lines.order_by("order_line_id"))
    return order, locked


def _lock_reserved_stock(order_line_ids: Iterable[int]) -> None:
    """The stock levels the lines hold reservations at, locked in key order before
    they are consumed or released line by line (no deadlock with brokering)."""
    stock_levels_lock_reserved(owner_type=OWNER_TYPE, owner_ids=order_line_ids)


def _save_request(request: FulfillmentRequest, *fields: str) -> None:
    request.save(update_fields=["status", "updated_at", *fields])


def _request_payload(request: FulfillmentRequest, order: Order, **extra) -> dict:
    return {
        "number": request.number,
        "order_number": order.number,
        "location": request.location.code,
        "status": request.status,
        **extra,
    }


def fulfillment_request_accept(
    *, request: FulfillmentRequest, actor
) -> FulfillmentRequest:
    """The location takes the request on (a store associate, or a WMS's
    acknowledgement): assigned → accepted. 409 from any other state."""
    with transaction.atomic():
        order, request = _locked_request(request)
        apply_transition(request, "accept", actor=actor)
        _save_request(request)
        record_event(
            "fulfillment_request.accepted", request, _request_payload(request, order)
        )
        return request


def fulfillment_request_reject(
    *,
    request: FulfillmentRequest,
    actor,
    reason: str,
    quantities: dict[int, int] | None = None,
) -> FulfillmentRequest:
    """The location cannot fulfil some lines (`quantities`: order line id → units)
    or all of them (None). Rejected units go back to open on the order, their
    reservations are released, and the order waits in `rejected` to be routed again
    excluding this location (`bopis_rejected` with `order.alternative_requested` for
    a pickup). Rejecting everything still held rejects the request; rejecting part
    splits the order. Locks order, then request, then reservations."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(
            "Say why the items are rejected.",
            code="reason_required",
            field_errors={"reason": ["A reason is required."]},
        )
    with transaction.atomic():
        order, request = _locked_request(request)
        if not can_proceed(request.reject):
            raise TransitionNotAllowed(
                f"A {request.get_status_display().lower()} request cannot reject items."
            )
        by_line = {line.order_line_id: line for line in request.locked_lines}
        if quantities is None:
            quantities = {
                line_id: line.quantity_pending
                for line_id, line in by_line.items()
                if line.quantity_pending
            }
        errors = {}
        for line_id, units in quantities.items():
            line = by_line.get(line_id)
            if line is None:
                errors[str(line_id)] = ["Not a line of this request."]
            elif not isinstance(units, int) or not 0 < units <= line.quantity_pending:
                errors[str(line_id)] = [
                    f"Between 1 and {line.quantity_pending} units."
                    if line.quantity_pending
                    else "Nothing left to reject on this line."
                ]
        if errors or not quantities:
            raise ApplicationError(
                "Choose lines of this request and quantities still held.",
                code="invalid_quantities",
                field_errors=errors or {"quantities": ["Choose at least one line."]},
            )
        order_lines = {line.pk: line for line in order.locked_lines}
        _lock_reserved_stock(by_line)
        for line_id, units in quantities.items():
            request_line = by_line[line_id]
            request_line.quantity_rejected += units
            request_line.rejection_reason = reason
            request_line.save(update_fields=["quantity_rejected", "rejection_reason"])
            order_line = order_lines[line_id]
            order_line.quantity_allocated -= units
            order_line.quantity_open += units
            order_line.save(update_fields=["quantity_allocated", "quantity_open"])
            reservations_release(
                owner_type=OWNER_TYPE,
                owner_id=str(line_id),
                location=request.location,
                product=Product(pk=order_line.product_id),
                quantity=units,
            )
        whole = not any(line.quantity_pending for line in request.locked_lines)
        if whole:
            apply_transition(request, "reject", actor=actor, reason=reason)
        else:
            request.rejection_reason = reason
        _save_request(request, "rejection_reason")
        order.queue = (
            Order.Queue.BOPIS_REJECTED if request.is_pickup else Order.Queue.REJECTED
        )
        order.save(update_fields=["queue", "updated_at"])
        record_event(
            "fulfillment_request.rejected",
            request,
            _request_payload(
                request,
                order,
                reason=reason,
                whole=whole,
                lines=[
                    {"line_id": line_id, "quantity": units}
                    for line_id, units in quantities.items()
                ],
            ),
        )
        if request.is_pickup:
            record_event(
                "order.alternative_requested",
                order,
                {
                    "number": order.number,
                    "pickup_location": request.location.code,
                    "reason": reason,
                },
            )
        return request


def _invoice(order: Order, request: FulfillmentRequest) -> Invoice:
    """The request's invoice (created once, `invoice.created`)."""
    existing = Invoice.objects.filter(request=request).first()
    if existing:
        return existing
    lines = {line.pk: line for line in order.locked_lines}
    amount = sum(
        (
            shipment_amount(
                line_amounts(lines[rl.order_line_id]),
                rl.quantity_pending,
                order.currency,
            )
            for rl in request.locked_lines
            if rl.quantity_pending
        ),
        Decimal("0"),
    )
    invoice = Invoice.objects.create(
        number=f"INV-{request.number}",
        request=request,
        currency=order.currency,
        amount=amount,
    )
    record_event(
        "invoice.created",
        invoice,
        {
            "number": invoice.number,
            "fulfillment_request": request.number,
            "order_number": order.number,
            "amount": invoice.amount,
            "currency": invoice.currency,
        },
    )
    return invoice


def fulfillment_request_pack(
    *, request: FulfillmentRequest, actor
) -> FulfillmentRequest:
    """Packed at the location: accepted → packed, and the parcel's invoice is issued
    (`invoice.created`). Locks order then request."""
    with transaction.atomic():
        order, request = _locked_request(request)
        apply_transition(request, "pack", actor=actor)
        _save_request(request)
        _invoice(order, request)
        return request


def _hand_over(
    *,
    order: Order,
    request: FulfillmentRequest,
    actor,
    carrier: str = "",
    tracking_number: str = "",
) -> Shipment:
    """Everything the request still holds leaves the location: reservations
    consumed, order lines allocated → fulfilled, the money for those units captured
    (shipping with the order's first shipment), `fulfillment_request.items_completed`
    once for this shipment, and the order completed when nothing is left to fulfil."""
    _invoice(order, request)
    order_lines = {line.pk: line for line in order.locked_lines}
    shipped, amount = [], Decimal("0")
    first_shipment = not Shipment.objects.filter(request__order=order).exists()
    _lock_reserved_stock([rl.order_line_id for rl in request.locked_lines])
    for request_line in request.locked_lines:
        units = request_line.quantity_pending
        if not units:
            continue
        line = order_lines[request_line.order_line_id]
        reservation_consume(
            owner_type=OWNER_TYPE,
            owner_id=str(line.pk),
            location=request.location,
            product=Product(pk=line.product_id, sku=line.sku),
            quantity=units,
            reference=request.number,
            actor=actor,
        )
        amount += shipment_amount(line_amounts(line), units, order.currency)
        line.quantity_allocated -= units
        line.quantity_fulfilled += units
        line.save(update_fields=["quantity_allocated", "quantity_fulfilled"])
        request_line.quantity_shipped += units
        request_line.save(update_fields=["quantity_shipped"])
        shipped.append({"line_id": line.pk, "sku": line.sku, "quantity": units})
    if first_shipment:
        amount += order.shipping_total - order.shipping_credited
    account = order_account(order)
    captured = Decimal("0")
    if account is not None:
        capturable = (
            account.authorized_amount - account.captured_amount - account.voided_amount
        )
        captured = min(amount, capturable)
        if captured > 0:
            payment_capture(
                account=account,
                amount=captured,
                idempotency_key=f"fulfillment-{request.pk}-capture",
                reference=request.number,
            )
    shipment = Shipment.objects.create(
        request=request,
        carrier=carrier,
        tracking_number=tracking_number,
        amount_captured=max(captured, Decimal("0")),
        currency=order.currency,
        lines=shipped,
    )
    record_event(
        "fulfillment_request.items_completed",
        request,
        _request_payload(
            request,
            order,
            carrier=carrier,
            tracking_number=tracking_number,
            amount_captured=shipment.amount_captured,
            currency=order.currency,
            lines=shipped,
        ),
    )
    if carrier:
        run_stage(orders=[order], stage=WorkflowStage.SHIPPED, actor=actor)
    order_complete_if_done(order, actor=actor)
    order.save(update_fields=["status", "queue", "updated_at"])
    return shipment


def fulfillment_request_ship(
    *,
    request: FulfillmentRequest,
    actor,
    carrier: str,
    tracking_number: str,
) -> FulfillmentRequest:
    """Shipped with a carrier and tracking number (a store associate, or a WMS's
    shipment confirmation, which may skip packing): → completed, stock consumed,
    payment captured for what shipped. A pickup request cannot ship (409)."""
    errors = {}
    if not (carrier or "").strip():
        errors["carrier"] = ["Name the carrier."]
    if not (tracking_number or "").strip():
        errors["tracking_number"] = ["Give the tracking number."]
    if len(carrier or "") > 60 or len(tracking_number or "") > 100:
        errors["tracking_number"] = ["Too long."]
    if errors:
        raise ApplicationError(
            "Carrier and tracking number are required.",
            code="invalid_shipment",
            field_errors=errors,
        )
    with transition_atomic():
        order, request = _locked_request(request)
        apply_transition(
            request, "ship", actor=actor, reason=f"{carrier} {tracking_number}"
        )
        _save_request(request)
        _hand_over(
            order=order,
            request=request,
            actor=actor,
            carrier=carrier.strip(),
            tracking_number=tracking_number.strip(),
        )
        return request


def fulfillment_request_ready_for_pickup(
    *, request: FulfillmentRequest, actor
) -> FulfillmentRequest:
    """A pickup is waiting at the store: → ready_for_pickup with a pickup deadline
    (OMS_PICKUP_DEADLINE_DAYS, default 7) and `fulfillment_request.ready_for_pickup`
    for the customer notification."""
    with transition_atomic():
        order, request = _locked_request(request)
        apply_transition(request, "ready_for_pickup", actor=actor)
        request.pickup_deadline = timezone.now() + timedelta(days=pickup_days())
        _save_request(request, "pickup_deadline")
        record_event(
            "fulfillment_request.ready_for_pickup",
            request,
            _request_payload(
                request,
                order,
                customer_email=order.customer_email,
                pickup_deadline=request.pickup_deadline,
            ),
        )
        run_stage(orders=[order], stage=WorkflowStage.READY_FOR_PICKUP, actor=actor)
        return request


def fulfillment_request_picked_up(
    *, request: FulfillmentRequest, actor
) -> FulfillmentRequest:
    """The customer collected the pickup: → completed, stock consumed, payment
    captured, order completed."""
    with transition_atomic():
        order, request = _locked_request(request)
        apply_transition(request, "pick_up", actor=actor)
        _save_request(request)
        _hand_over(order=order, request=request, actor=actor)
        return request


def fulfillment_requests_withdraw(*, order: Order, lines: list[OrderLine]) -> int:
    """Called by `orders.services` (order already locked) when lines' allocated
    units are cancelled or swapped: the requests holding them stop holding them;
    a request left with nothing is withdrawn (`fulfillment_request.withdrawn`) and
    drops off the store's list. The caller releases the reservations. Returns the
    number of requests withdrawn."""
    line_ids = {line.pk for line in lines}
    requests = list(
        FulfillmentRequest.objects.select_for_update(of=("self",))
        .select_related("location")
        .filter(order=order, status__in=ACTIVE_REQUEST_STATUSES)
    )
    withdrawn = 0
    for request in requests:
        request_lines = list(request.lines.all())
        for request_line in request_lines:
            if request_line.order_line_id in line_ids and request_line.quantity_pending:
                request_line.quantity_withdrawn += request_line.quantity_pending
                request_line.save(update_fields=["quantity_withdrawn"])
        if any(line.quantity_pending for line in request_lines):
            continue
        apply_transition(request, "withdraw", reason="Order lines cancelled.")
        _save_request(request)
        record_event(
            "fulfillment_request.withdrawn", request, _request_payload(request, order)
        )
        withdrawn += 1
    return withdrawn


# Sweeps -------------------------------------------------------------------------------


def _cancel_quietly(*, order_id: int, reason: str) -> bool:
    """Cancel through the orders service (`order.cancelled`, money voided); an order
    part of which has shipped has only what is left cancelled (`order.items_
    cancelled`, completed if nothing remains). An order someone else is changing
    right now is left for the next sweep."""
    order = Order.objects.get(pk=order_id)
    lines = list(order.lines.all())
    try:
        if any(line.quantity_fulfilled or line.quantity_returned for line in lines):
            order_lines_cancel(
                order=order,
                quantities={
                    line.pk: line.quantity_cancellable
                    for line in lines
                    if line.quantity_cancellable
                },
                actor=None,
                reason=reason,
            )
        else:
            order_cancel(order=order, actor=None, reason=reason)
    except Conflict:
        return False
    return True


def pickups_expire(*, now=None, limit: int = SWEEP_BATCH) -> int:
    """Sweep: pickups not collected by their deadline → not_collected, and the order
    is cancelled with its authorization voided. Locked orders wait for the next
    sweep. Returns how many were expired."""
    now = now or timezone.now()
    due = list(
        FulfillmentRequest.objects.filter(
            status=FulfillmentRequest.Status.READY_FOR_PICKUP,
            pickup_deadline__lte=now,
        ).values_list("pk", "order_id")[:limit]
    )
    expired = 0
    for request_id, order_id in due:
        with transaction.atomic():
            order = (
                Order.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk=order_id)
                .first()
            )
            request = (
                FulfillmentRequest.objects.select_for_update()
                .select_related("location")
                .filter(
                    pk=request_id, status=FulfillmentRequest.Status.READY_FOR_PICKUP
                )
                .first()
            )
            if order is None or request is None:
                continue
            apply_transition(request, "not_collected", reason="Pickup deadline passed.")
            _save_request(request)
            record_event(
                "fulfillment_request.not_collected",
                request,
                _request_payload(request, order),
            )
            if _cancel_quietly(order_id=order_id, reason="Not collected in time."):
                expired += 1
            else:
                transaction.set_rollback(True)
    return expired


def orders_auto_cancel_due(*, now=None, limit: int = SWEEP_BATCH) -> int:
    """Sweep: unfillable orders past their auto-cancel date are cancelled through the
    orders service (`order.cancelled`, money voided). Orders on `unfillable_hold`
    never are. Returns how many were cancelled."""
    now = now or timezone.now()
    due = list(
        OrderRouting.objects.filter(
            auto_cancel_at__lte=now,
            order__queue=Order.Queue.UNFILLABLE,
            order__status__in=ROUTABLE_STATUSES,
        ).values_list("order_id", flat=True)[:limit]
    )
    return sum(
        _cancel_quietly(
            order_id=order_id, reason="Unfillable past its auto-cancel date."
        )
        for order_id in due
    )


def orders_release_parked(*, today=None, limit: int = BATCH_SIZE) -> int:
    """Sweep: pre-orders and backorders whose promise date has come and whose open
    units are all in stock somewhere go to `brokering` (`order.released`). One
    transaction; locked orders are skipped."""
    today = today or timezone.localdate()
    with transaction.atomic():
        orders = list(
            Order.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(queue__in=PARKINGS, status__in=ROUTABLE_STATUSES)
            .exclude(promise_date__gt=today)
            .order_by(F("promise_date").asc(nulls_first=True), "placed_at")[:limit]
        )
        need: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for order_id, product_id, units in OrderLine.objects.filter(
            order__in=orders, quantity_open__gt=0
        ).values_list("order_id", "product_id", "quantity_open"):
            need[order_id][product_id] += units
        stock: dict[int, int] = defaultdict(int)
        for (_, product_id), units in stock_available(
            product_ids={p for wants in need.values() for p in wants}
        ).items():
            stock[product_id] += units
        released = []
        for order in orders:
            wants = need[order.pk]
            if all(stock[product] >= units for product, units in wants.items()):
                for product, units in wants.items():
                    stock[product] -= units
                released.append(order)
        _move(released, Order.Queue.BROKERING, actor=None, reason="Promise date due")
        return len(released)


@dataclass
class BulkResult:
    moved: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


def _move(orders: list[Order], queue: str, *, actor, reason: str) -> None:
    if not orders:
        return
    now = timezone.now()
    Order.objects.filter(pk__in=[o.pk for o in orders]).update(
        queue=queue, updated_at=now
    )
    if queue == Order.Queue.UNFILLABLE:
        OrderRouting.objects.bulk_create(
            [
                OrderRouting(
                    order_id=o.pk,
                    auto_cancel_at=now + timedelta(days=o.channel.auto_cancel_days),
                    updated_at=now,
                )
                for o in orders
            ],
            update_conflicts=True,
            unique_fields=["order"],
            update_fields=["auto_cancel_at", "updated_at"],
        )
    elif queue == Order.Queue.UNFILLABLE_HOLD:
        OrderRouting.objects.filter(order__in=orders).update(auto_cancel_at=None)
    name = {
        Order.Queue.BROKERING: "order.released",
        Order.Queue.UNFILLABLE_HOLD: "order.held_unfillable",
        Order.Queue.UNFILLABLE: "order.unheld_unfillable",
    }[queue]
    record_events(
        [
            (
                name,
                order,
                {
                    "number": order.number,
                    "from_queue": order.queue,
                    "queue": queue,
                    "by": actor_name(actor),
                    "reason": reason,
                },
            )
            for order in orders
        ]
    )


QUEUE_MOVES = {
    # target queue: queues an order may come from
    Order.Queue.BROKERING: RELEASABLE,
    Order.Queue.UNFILLABLE_HOLD: [Order.Queue.UNFILLABLE],
    Order.Queue.UNFILLABLE: [Order.Queue.UNFILLABLE_HOLD],
}


def queue_move_refusal(*, order: Order, queue: str) -> str:
    """Why `order` cannot move to `queue` now ("" when it can): it must be routable
    and wait in a queue it may leave for that one."""
    if order.queue in QUEUE_MOVES[queue] and order.status in ROUTABLE_STATUSES:
        return ""
    return (
        f"It is {order.get_status_display().lower()}"
        + (f" in {order.get_queue_display()}" if order.queue else "")
        + "."
    )


def orders_move_queue(
    *, numbers: Iterable[str], queue: str, actor, reason: str = ""
) -> BulkResult:
    """A CSR's bulk move by order number: release (→ `brokering`, from a parking,
    unfillable or rejected), hold (`unfillable` → `unfillable_hold`, no auto-cancel)
    or unhold (back to `unfillable` with a fresh auto-cancel date). Unknown numbers,
    orders in another queue and orders someone else is changing are reported, the
    rest are moved, in one transaction (SKIP LOCKED)."""
    numbers = list(dict.fromkeys(n.strip() for n in numbers if n and n.strip()))
    if queue not in QUEUE_MOVES:
        raise ApplicationError("Unknown target queue.", code="invalid_queue")
    if not numbers:
        raise ApplicationError(
            "Give at least one order number.",
            code="no_orders",
            field_errors={"numbers": ["Give at least one order number."]},
        )
    result = BulkResult()
    with transaction.atomic():
        known = set(
            Order.objects.filter(number__in=numbers).values_list("number", flat=True)
        )
        locked = {
            o.number: o
            for o in Order.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("channel")
            .filter(number__in=known)
        }
        movable = []
        for number in numbers:
            order = locked.get(number)
            if number not in known:
                result.unknown.append(number)
            elif order is None:
                result.refused[number] = "Someone else is changing it; try again."
            elif refusal := queue_move_refusal(order=order, queue=queue):
                result.refused[number] = refusal
            else:
                movable.append(order)
                result.moved.append(number)
        _move(movable, queue, actor=actor, reason=reason)
    return result


def reroutable_requests(*, order: Order) -> list[FulfillmentRequest]:
    """The order's requests a location has not accepted yet (what a re-route takes
    back); 409 when there is none or the order is not being routed."""
    requests = list(
        FulfillmentRequest.objects.select_related("location")
        .filter(order=order, status=FulfillmentRequest.Status.ASSIGNED)
        .order_by("id")
    )
    if order.status not in ROUTABLE_STATUSES or not requests:
        raise Conflict(
            f"Order {order.number} has no fulfillment request waiting for a "
            "location to accept it; there is nothing to re-route.",
            code="nothing_to_reroute",
        )
    return requests


def order_reroute(*, order: Order, actor, reason: str = "") -> list[str]:
    """A CSR takes an order back from the locations that have not accepted it yet,
    to be routed again: its `assigned` requests are withdrawn, their units go back
    to open (reservations released) and the order waits in `brokering`
    (`fulfillment_request.withdrawn` each, `order.rerouted`). Requests a location
    accepted stay. Returns the withdrawn request numbers. Locks the order (NOWAIT),
    then its requests."""
    reason = reason.strip() or "Re-routed by hand."
    with transaction.atomic():
        order = lock_order(order_id=order.pk)
        reroutable_requests(order=order)
        requests = list(
            FulfillmentRequest.objects.select_for_update(of=("self",))
            .select_related("location")
            .filter(order=order, status=FulfillmentRequest.Status.ASSIGNED)
            .order_by("id")
        )
        order_lines = {line.pk: line for line in order.locked_lines}
        _lock_reserved_stock(order_lines)
        for request in requests:
            for request_line in request.lines.all():
                units = request_line.quantity_pending
                if not units:
                    continue
                request_line.quantity_withdrawn += units
                request_line.save(update_fields=["quantity_withdrawn"])
                order_line = order_lines[request_line.order_line_id]
                order_line.quantity_allocated -= units
                order_line.quantity_open += units
                order_line.save(update_fields=["quantity_allocated", "quantity_open"])
                reservations_release(
                    owner_type=OWNER_TYPE,
                    owner_id=str(order_line.pk),
                    location=request.location,
                    product=Product(pk=order_line.product_id),
                    quantity=units,
                )
            apply_transition(request, "withdraw", actor=actor, reason=reason)
            _save_request(request)
            record_event(
                "fulfillment_request.withdrawn",
                request,
                _request_payload(request, order, reason=reason),
            )
        from_queue = order.queue
        order.queue = Order.Queue.BROKERING
        order.save(update_fields=["queue", "updated_at"])
        numbers = [request.number for request in requests]
        record_event(
            "order.rerouted",
            order,
            {
                "number": order.number,
                "from_queue": from_queue,
                "queue": order.queue,
                "withdrawn_requests": numbers,
                "by": actor_name(actor),
                "reason": reason,
            },
        )
        return numbers


def bopis_convert(
    *,
    order: Order,
    actor,
    pickup_location: Location | None = None,
    shipping_address: dict | None = None,
) -> Order:
    """The customer's alternative for a rejected pickup, entered by a CSR: another
    pickup store, or home delivery to `shipping_address` (the order becomes a
    standard one). Either way it goes to `brokering` (`order.alternative_chosen`).
    NOWAIT lock."""
    if (pickup_location is None) == (shipping_address is None):
        raise ApplicationError(
            "Choose another pickup store or a delivery address.",
            code="invalid_alternative",
            field_errors={"pickup_location": ["Choose one alternative."]},
        )
    with transaction.atomic():
        order = lock_order(order_id=order.pk)
        if order.queue != Order.Queue.BOPIS_REJECTED:
            raise Conflict(
                f"Order {order.number} is not waiting for a pickup alternative.",
                code="not_bopis_rejected",
            )
        if pickup_location is not None:
            if not (pickup_location.active and pickup_location.can_pickup):
                raise ApplicationError(
                    f"{pickup_location.code} does not offer pickup.",
                    code="invalid_alternative",
                    field_errors={"pickup_location": ["Not a pickup store."]},
                )
            order.pickup_location = pickup_location
            choice = {"pickup_location": pickup_location.code}
        else:
            order.order_type_id = Order.Flow.STANDARD
            order.shipping_address = shipping_address
            choice = {"home_delivery": True}
        order.queue = Order.Queue.BROKERING
        order.save(
            update_fields=[
                "pickup_location",
                "order_type",
                "shipping_address",
                "queue",
                "updated_at",
            ]
        )
        record_event(
            "order.alternative_chosen",
            order,
            {
                "number": order.number,
                "by": actor_name(actor),
                **choice,
            },
        )
        return order


QUEUE_SNAPSHOTS_KEPT = timedelta(days=30)


def queue_snapshot_record(*, sizes: dict[str, int], now=None) -> None:
    """Record each queue's size at `now` (to the minute) for the dashboard's chart,
    and forget snapshots older than `QUEUE_SNAPSHOTS_KEPT`. Idempotent: a second
    call within the same minute keeps the first one's figures."""
    taken_at = (now or timezone.now()).replace(second=0, microsecond=0)
    with transaction.atomic():
        QueueSnapshot.objects.filter(
            taken_at__lt=taken_at - QUEUE_SNAPSHOTS_KEPT
        ).delete()
        QueueSnapshot.objects.bulk_create(
            [
                QueueSnapshot(taken_at=taken_at, queue=queue, size=size)
                for queue, size in sizes.items()
            ],
            ignore_conflicts=True,
        )
