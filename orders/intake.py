"""Order intake: one order (`order_create`) or a batch (`orders_import`).

Both take `OrderInput`s whose shape the API serializers have checked, validate the
business rules against the database in a few bulk look-ups (channel, SKUs, locations,
repeats), then write orders, lines, payment accounts and `order.created` events with
bulk inserts. A repeat of an external id already taken in the channel is answered with
the existing order when its body is the same and refused (409) when it differs.
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from inventory.models import Location
from inventory.selectors import locations_by_code, products_by_sku
from oms.bulk import insert_instances
from oms.db.compiled import CompiledQuery
from oms.errors import ApplicationError, Conflict
from oms.services.events import record_event, record_events
from orders import errors, services
from orders.models import LARGEST_AMOUNT, Channel, Order, OrderLine
from orders.refund_calculator import order_discount_shares
from orders.workflows.config import order_type_spec
from orders.workflows.models import WorkflowStage
from orders.workflows.runner import run_stage
from payments.money import is_known_currency, quantize
from payments.services import (
    AccountOpening,
    payment_account_open,
    payment_accounts_open_new,
)

ZERO = Decimal("0")
MAX_IMPORT = 1000


@dataclass
class LineInput:
    sku: str
    quantity: int
    unit_price: Decimal
    discount: Decimal = ZERO
    tax: Decimal = ZERO
    final_sale: bool = False


@dataclass
class OrderInput:
    channel: str
    external_id: str
    currency: str
    lines: list[LineInput]
    payment_token: str = ""
    order_type: str = Order.Flow.STANDARD
    customer_name: str = ""
    customer_email: str = ""
    customer_phone: str = ""
    shipping_address: dict = field(default_factory=dict)
    pickup_location: str = ""
    shipping_method: str = ""
    shipping_price: Decimal = ZERO
    shipping_tax: Decimal = ZERO
    discount: Decimal = ZERO
    total: Decimal | None = None
    tags: list[str] = field(default_factory=list)
    fraud_score: Decimal | None = None
    placed_at: datetime | None = None
    promise_date: date | None = None
    notes: str = ""

    def fingerprint(self) -> str:
        # The JSON of `asdict(self)` without its deep copy, which cost more than
        # the hash.
        lines = [dict(vars(line)) for line in self.lines]
        for line in lines:
            # Absent from bodies taken before lines could be final sale: their
            # repeats must still match.
            if not line["final_sale"]:
                del line["final_sale"]
        body = json.dumps(
            {**vars(self), "lines": lines}, sort_keys=True, cls=DjangoJSONEncoder
        )
        return hashlib.sha256(body.encode()).hexdigest()


class ImportStatus(models.TextChoices):
    CREATED = "created"
    EXISTING = "existing"
    FAILED = "failed"


@dataclass
class ImportResult:
    index: int
    external_id: str
    status: ImportStatus
    order: Order | None = None
    code: str = ""
    detail: str = ""
    # As a single intake's 400 gives them (`oms.api.exceptions.field_errors`).
    errors: dict[str, list] = field(default_factory=dict)


@dataclass
class _Prepared:
    index: int
    data: OrderInput
    order: Order
    lines: list[OrderLine]


_CHANNELS_BY_CODE = CompiledQuery(lambda codes: Channel.objects.filter(code__in=codes))


@dataclass
class _Lookups:
    channels: dict[str, Channel]
    products: dict
    locations: dict[str, Location]
    existing: dict[tuple[int, str], Order]


def intake_lookups(
    inputs: Sequence[OrderInput], *, with_existing: bool = True
) -> _Lookups:
    """Everything validation needs, in one query per kind. `with_existing=False`
    skips the look-up of repeats (a single intake lets the unique constraint tell)."""
    channels = {
        c.code: c for c in _CHANNELS_BY_CODE(sorted({i.channel for i in inputs}))
    }
    skus = {line.sku for i in inputs for line in i.lines}
    location_codes = {i.pickup_location for i in inputs if i.pickup_location}
    locations = locations_by_code(codes=location_codes) if location_codes else {}
    existing: dict[tuple[int, str], Order] = {}
    channel_ids = [c.pk for c in channels.values()]
    if channel_ids and with_existing:
        for order in Order.objects.filter(
            channel_id__in=channel_ids, external_id__in={i.external_id for i in inputs}
        ).select_related("channel"):
            existing[(order.channel_id, order.external_id)] = order
    return _Lookups(channels, products_by_sku(skus=skus), locations, existing)


def _money_errors(data: OrderInput) -> dict[str, list[str]]:
    errs: dict[str, list[str]] = {}
    currency = data.currency
    for name in ("shipping_price", "shipping_tax", "discount"):
        value = getattr(data, name)
        if quantize(value, currency) != value:
            errs[name] = [f"At most the minor unit of {currency}."]
    for position, line in enumerate(data.lines):
        for name in ("unit_price", "discount", "tax"):
            value = getattr(line, name)
            if quantize(value, currency) != value:
                errs[f"lines[{position}].{name}"] = [
                    f"At most the minor unit of {currency}."
                ]
        if line.discount > line.quantity * line.unit_price:
            errs[f"lines[{position}].discount"] = ["Greater than the line's price."]
        elif line.quantity * line.unit_price + line.tax > LARGEST_AMOUNT:
            errs[f"lines[{position}].quantity"] = [_too_large("The line's amount")]
    return errs


def _too_large(what: str) -> str:
    return f"{what} is more than the largest amount an order holds ({LARGEST_AMOUNT})."


def intake_errors(data: OrderInput, lookups: _Lookups) -> dict[str, list[str]]:
    """Field errors of the business rules; empty when the order can be written."""
    errs: dict[str, list[str]] = {}
    if data.channel not in lookups.channels:
        errs["channel"] = [f"Unknown channel {data.channel!r}."]
    order_type = order_type_spec(data.order_type)
    if order_type is None or not order_type.active:
        errs["order_type"] = [f"Unknown or inactive order type {data.order_type!r}."]
    if not is_known_currency(data.currency):
        return {**errs, "currency": [f"{data.currency!r} is not a supported currency."]}
    if not data.lines:
        errs["lines"] = ["An order needs at least one line."]
    for position, line in enumerate(data.lines):
        product = lookups.products.get(line.sku)
        if product is None or not product.active:
            errs[f"lines[{position}].sku"] = [f"Unknown or inactive SKU {line.sku!r}."]
        if line.quantity <= 0:
            errs[f"lines[{position}].quantity"] = ["Must be greater than zero."]
    errs.update(_money_errors(data))
    if errs:
        return errs
    net = sum(
        (line.quantity * line.unit_price - line.discount for line in data.lines), ZERO
    )
    total = computed_total(data)
    if data.discount > net:
        errs["discount"] = ["The order discount is greater than the lines' price."]
    elif total > LARGEST_AMOUNT:
        errs["total"] = [_too_large("The order's total")]
    elif data.total is not None and data.total != total:
        errs["total"] = [
            f"Does not add up: lines, discount, tax and shipping make {total}."
        ]
    flow = order_type.flow
    if flow in (Order.Flow.BOPIS, Order.Flow.POS):
        location = lookups.locations.get(data.pickup_location)
        if location is None or not location.active:
            errs["pickup_location"] = ["A BOPIS or POS order needs an active store."]
        elif flow == Order.Flow.BOPIS and not location.can_pickup:
            errs["pickup_location"] = [f"{location.code} does not offer pickup."]
    return errs


def _new_order_errors(data: OrderInput, lookups: _Lookups) -> dict[str, list[str]]:
    """`intake_errors`, and for an order to pay, the payment token to authorize."""
    errs = intake_errors(data, lookups)
    if not data.payment_token and not errs and computed_total(data) > 0:
        errs["payment_token"] = ["Required: the order has an amount to pay."]
    return errs


def computed_total(data: OrderInput) -> Decimal:
    lines = sum(
        (
            line.quantity * line.unit_price - line.discount + line.tax
            for line in data.lines
        ),
        ZERO,
    )
    return lines - data.discount + data.shipping_price + data.shipping_tax


def build_order(data: OrderInput, lookups: _Lookups, now: datetime) -> _Prepared:
    channel = lookups.channels[data.channel]
    order = Order(
        channel=channel,
        external_id=data.external_id,
        order_type_id=data.order_type,
        customer_name=data.customer_name,
        customer_email=data.customer_email,
        customer_phone=data.customer_phone,
        shipping_address=data.shipping_address,
        pickup_location=lookups.locations.get(data.pickup_location),
        currency=data.currency,
        shipping_method=data.shipping_method,
        shipping_price=data.shipping_price,
        shipping_tax=data.shipping_tax,
        discount=data.discount,
        total=quantize(computed_total(data), data.currency),
        tags=data.tags,
        fraud_score=data.fraud_score,
        placed_at=data.placed_at or now,
        promise_date=data.promise_date,
        grace_period_ends_at=now + timedelta(minutes=channel.grace_period_minutes),
        notes=data.notes,
        intake_fingerprint=data.fingerprint(),
    )
    shares = order_discount_shares(
        discount=data.discount,
        lines=[(line.quantity, line.unit_price, line.discount) for line in data.lines],
        currency=data.currency,
    )
    lines = [
        OrderLine(
            position=position,
            product=lookups.products[line.sku],
            sku=line.sku,
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount=line.discount,
            order_discount_share=share,
            tax=line.tax,
            quantity_open=line.quantity,
            final_sale=line.final_sale,
        )
        for position, (line, share) in enumerate(
            zip(data.lines, shares, strict=True), 1
        )
    ]
    return _Prepared(index=0, data=data, order=order, lines=lines)


def _repeat(data: OrderInput, existing: Order) -> Order:
    if existing.intake_fingerprint != data.fingerprint():
        raise Conflict(
            f"External id {data.external_id!r} is already order {existing.number} "
            "with a different body; edit it with PATCH during its grace period.",
            code=errors.DUPLICATE_EXTERNAL_ID,
            extra={"order_number": existing.number},
        )
    return existing


def _batch_repeat(data: OrderInput, earlier: _Prepared) -> None:
    """A second entry of one import under an external id: a repeat of the earlier
    entry when its body is the same; refused when it differs, as a repeat of a
    stored order is (the earlier entry is not written yet, so it has no number)."""
    if earlier.order.intake_fingerprint != data.fingerprint():
        raise Conflict(
            f"External id {data.external_id!r} comes earlier in this import with a "
            "different body.",
            code=errors.DUPLICATE_EXTERNAL_ID,
        )


def _created_event(prepared: _Prepared) -> tuple[str, Order, dict]:
    order = prepared.order
    return (
        "order.created",
        order,
        services.order_created_payload(order, prepared.lines),
    )


def _after_payment(prepared: _Prepared, account) -> None:
    """What follows a successful authorization for one order: its event, and for
    POS orders the capture, the stock and the completion; for channels without a
    grace period, the opening."""
    order = prepared.order
    record_event(*_created_event(prepared))
    run_stage(orders=[order], stage=WorkflowStage.CREATED)
    if order.flow == Order.Flow.POS:
        services.pos_complete(order=order, lines=prepared.lines, account=account)
    elif order.grace_period_ends_at <= order.created_at:
        services.open_or_hold(order=order, account=account, actor=None)


def _opening(order: Order, data: OrderInput) -> AccountOpening:
    return AccountOpening(
        owner_type="order",
        owner_id=str(order.pk),
        currency=order.currency,
        amount=order.total,
        payment_token=data.payment_token,
        channel=order.channel.code,
    )


def _has_to_pay(prepared: _Prepared) -> bool:
    """Whether the order has a payment to authorize: a free order (a gift, a
    giveaway wholly discounted) is taken without a payment account."""
    return prepared.order.total > 0


def _only_created(prepared: _Prepared) -> bool:
    """After its payment, the order only records `order.created` (no POS sale to
    complete, no opening at once): nothing that can fail after the payment."""
    order = prepared.order
    return (
        order.flow != Order.Flow.POS and order.grace_period_ends_at > order.created_at
    )


def _write(
    prepared: list[_Prepared], *, savepoints: bool
) -> dict[int, ApplicationError]:
    """Bulk-insert the orders and their lines, then authorize each payment.

    The orders that only need their payment (nearly all) have their accounts
    opened together, and their events, the payments' and `order.created`, recorded
    in one statement. The others (a POS sale, an order opened at once) are taken
    one by one, each in a savepoint in a batch (`savepoints`), so that a refusal
    after the payment only drops its own order.
    Returns {index: refusal} of the orders dropped from a batch; without
    savepoints a refusal propagates and the caller's transaction writes nothing."""
    insert_instances([p.order for p in prepared])
    for item in prepared:
        for line in item.lines:
            line.order = item.order
    insert_instances([line for p in prepared for line in p.lines])
    declined: dict[int, ApplicationError] = {}
    together = [p for p in prepared if _only_created(p)]
    if together:
        events: list[tuple[str, models.Model, dict]] = []
        paying = [p for p in together if _has_to_pay(p)]
        outcomes = iter(
            payment_accounts_open_new(
                openings=[_opening(p.order, p.data) for p in paying], events_to=events
            )
        )
        created = []
        for item in together:
            outcome = next(outcomes) if _has_to_pay(item) else None
            if not isinstance(outcome, ApplicationError):
                created.append(item.order)
                events.append(_created_event(item))
            elif savepoints:
                declined[item.index] = outcome
            else:
                raise outcome
        record_events(events)
        run_stage(orders=created, stage=WorkflowStage.CREATED)
    for item in (p for p in prepared if not _only_created(p)):
        try:
            with transaction.atomic(savepoint=savepoints):
                account = (
                    payment_account_open(
                        **asdict(_opening(item.order, item.data)), owner_is_new=True
                    )
                    if _has_to_pay(item)
                    else None
                )
                _after_payment(item, account)
        except ApplicationError as exc:
            if not savepoints:
                raise
            declined[item.index] = exc
    if declined:
        Order.objects.filter(
            pk__in=[p.order.pk for p in prepared if p.index in declined]
        ).delete()
    return declined


def order_create(*, data: OrderInput) -> tuple[Order, bool]:
    """Take one order in: validate, number it, authorize its payment, record
    `order.created`. Returns (order, created); a repeat of the same body returns
    the existing order with created=False.

    One transaction: a declined payment (400 `payment_declined`) or a rule broken
    (400 with field errors) writes nothing. No locks: the unique (channel,
    external id) constraint settles repeats and two concurrent intakes of the same
    order (a repeat whose body is no longer valid is a 400, not a 409).
    """
    lookups = intake_lookups([data], with_existing=False)
    errs = _new_order_errors(data, lookups)
    if errs:
        code = errors.UNKNOWN_CHANNEL if "channel" in errs else errors.INVALID_ORDER
        raise ApplicationError("The order is not valid.", code=code, field_errors=errs)
    channel = lookups.channels[data.channel]
    try:
        with transaction.atomic():
            prepared = build_order(data, lookups, timezone.now())
            _write([prepared], savepoints=False)
    except IntegrityError:
        # The external id is taken (a repeat, or a concurrent intake that committed
        # first): the common case pays no look-up for it.
        existing = Order.objects.filter(channel=channel, external_id=data.external_id)
        if not existing.exists():
            raise
        return _repeat(data, existing.get()), False
    # The lines just written are the order's lines: answering with them spares a
    # query (Django's own prefetch cache, as `prefetch_related` would fill it).
    lines = OrderLine.objects.filter(order=prepared.order).order_by("position")
    lines._result_cache, lines._prefetch_done = prepared.lines, True
    prepared.order._prefetched_objects_cache = {"lines": lines}
    return prepared.order, True


EXTERNAL_ID_CONSTRAINT = "order_external_id_per_channel"


def orders_import(*, orders: Sequence[OrderInput]) -> list[ImportResult]:
    """Take up to 1,000 orders in one transaction; one result per order, in order.

    A bad order (rule broken, payment declined, external id reused with another
    body) is reported and skipped; the others are written. Validation runs on bulk
    look-ups; orders and lines are bulk-inserted; each payment authorization runs in
    its own savepoint. No locks beyond the inserts themselves: when another intake
    commits one of these external ids between the look-up and the insert, the batch
    is rolled back and taken once more, and that order is then reported `existing`.
    """
    if len(orders) > MAX_IMPORT:
        raise ApplicationError(
            f"At most {MAX_IMPORT} orders per import.", code=errors.TOO_MANY_ORDERS
        )
    try:
        return _import(orders)
    except IntegrityError as exc:
        if EXTERNAL_ID_CONSTRAINT not in str(exc):
            raise
        return _import(orders)


def _import(orders: Sequence[OrderInput]) -> list[ImportResult]:
    lookups = intake_lookups(orders)
    results: list[ImportResult] = []
    to_write: list[_Prepared] = []
    first_of: dict[tuple[str, str], _Prepared] = {}
    repeats_in_batch: list[tuple[ImportResult, _Prepared]] = []
    now = timezone.now()
    for index, data in enumerate(orders):
        result = ImportResult(
            index=index, external_id=data.external_id, status=ImportStatus.FAILED
        )
        results.append(result)
        errs = _new_order_errors(data, lookups)
        if errs:
            result.code, result.detail = errors.INVALID_ORDER, "The order is not valid."
            result.errors = errs
            continue
        channel = lookups.channels[data.channel]
        existing = lookups.existing.get((channel.pk, data.external_id))
        earlier = first_of.get((data.channel, data.external_id))
        try:
            if existing is not None:
                result.order = _repeat(data, existing)
                result.status = ImportStatus.EXISTING
            elif earlier is not None:
                _batch_repeat(data, earlier)
                repeats_in_batch.append((result, earlier))
            else:
                prepared = build_order(data, lookups, now)
                prepared.index = index
                first_of[(data.channel, data.external_id)] = prepared
                to_write.append(prepared)
        except Conflict as exc:
            result.code, result.detail = exc.code, exc.message
    with transaction.atomic():
        declined = _write(to_write, savepoints=True) if to_write else {}
    for prepared in to_write:
        result = results[prepared.index]
        if prepared.index in declined:
            refusal = declined[prepared.index]
            result.code, result.detail = refusal.code, refusal.message
            result.errors = refusal.field_errors
        else:
            result.status, result.order = ImportStatus.CREATED, prepared.order
    for result, earlier in repeats_in_batch:
        first = results[earlier.index]
        result.status = (
            ImportStatus.EXISTING
            if first.status == ImportStatus.CREATED
            else ImportStatus.FAILED
        )
        result.order, result.code, result.detail = first.order, first.code, first.detail
        result.errors = first.errors
    return results
