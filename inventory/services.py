"""Write use-cases of the inventory app.

Two rules hold everything together:

- `on_hand` changes only through `ledger_post`, which locks the stock levels, writes
  one `InventoryTransaction` per change and updates the levels in the same
  transaction. So `on_hand == sum(ledger)` for every stock level, always.
- `reserved` changes only through the reservation services, with a conditional
  `UPDATE ... WHERE on_hand - reserved - safety >= quantity`: the check and the
  increment are one statement, so no interleaving can oversell.

Lock order: reservation rows before stock levels; stock levels in (location, product)
order. A use-case that changes several levels one call at a time locks them all
first (`stock_levels_lock_reserved`, `stock_levels_lock`), ahead of the reservation
rows of an owner its caller has locked (nobody else touches those). Transfer orders,
ASNs and cycle counts are locked (`select_for_update`) before any of their lines or
stock, and a transfer order before its ASN.
"""

import csv
import io
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from inventory.errors import (
    InsufficientReservation,
    InsufficientStock,
    InvalidQuantity,
    LocationInactive,
    OverReceipt,
    ReservedExceedsOnHand,
    UnknownItem,
)
from inventory.models import (
    Asn,
    AsnLine,
    CycleCount,
    CycleCountLine,
    InventoryTransaction,
    Location,
    Product,
    Receipt,
    ReceiptLine,
    Reservation,
    StaffLocation,
    StockLevel,
    StockSync,
    TransferOrder,
    TransferOrderLine,
)
from oms.errors import ApplicationError, Conflict
from oms.services.events import record_event
from oms.services.transitions import apply_transition

TRANSFER_ORDER_OWNER = "transfer_order"
ADJUSTMENT_REASONS = {
    InventoryTransaction.Reason.DAMAGED: -1,
    InventoryTransaction.Reason.LOST: -1,
    InventoryTransaction.Reason.FOUND: 1,
    InventoryTransaction.Reason.CORRECTION: 0,
}
SYNC_BATCH_SIZE = 1000
MAX_UNITS = 1_000_000_000


class ItemQuantity(NamedTuple):
    product: Product
    quantity: int


@dataclass(frozen=True)
class LedgerEntry:
    """One change of on_hand. `consume_reserved` units of `reserved` leave with it
    (a shipment of reserved units); `keep_available`, when set, refuses the change
    unless on_hand - reserved stays at least that high afterwards (so a sale of
    unreserved units cannot eat into reservations or safety stock)."""

    location_id: int
    product_id: int
    quantity: int
    type: str
    reference: str = ""
    reason: str = ""
    note: str = ""
    consume_reserved: int = 0
    keep_available: int | None = None


# Validation helpers -----------------------------------------------------------------


def _require_positive(quantity, field: str = "quantity") -> int:
    if (
        isinstance(quantity, bool)
        or not isinstance(quantity, int)
        or not 0 < quantity <= MAX_UNITS
    ):
        raise InvalidQuantity(
            "Quantities must be whole numbers above zero.",
            field_errors={field: ["Must be a whole number above zero."]},
        )
    return quantity


def _merge_items(items: Iterable[ItemQuantity]) -> dict[Product, int]:
    """Sum the quantities per product; refuse empty lists and non-positive units."""
    merged: dict[Product, int] = defaultdict(int)
    for product, quantity in items:
        merged[product] += _require_positive(quantity, "items")
    if not merged:
        raise ApplicationError(
            "Give at least one item.",
            code="no_items",
            field_errors={"items": ["At least one item is required."]},
        )
    return dict(merged)


def _require_active(location: Location) -> None:
    if not location.active:
        raise LocationInactive(f"Location {location.code} is inactive.")


def _owner(owner_type: str, owner_id) -> tuple[str, str]:
    owner_type, owner_id = str(owner_type or "").strip(), str(owner_id or "").strip()
    if not owner_type or not owner_id:
        raise ApplicationError(
            "A reservation needs an owner type and id.", code="invalid_owner"
        )
    return owner_type, owner_id


def _numbered(model, instance, prefix: str) -> None:
    """Give a freshly created row its readable number from its primary key."""
    instance.number = f"{prefix}-{instance.pk:06d}"
    model.objects.filter(pk=instance.pk).update(number=instance.number)


# The ledger ---------------------------------------------------------------------------


def _lock_levels(keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], StockLevel]:
    """Lock (and create, if missing) the stock levels of `keys`, in key order."""
    keys = sorted(set(keys))
    if not keys:
        return {}
    location_ids = {key[0] for key in keys}
    product_ids = {key[1] for key in keys}

    def fetch() -> dict[tuple[int, int], StockLevel]:
        queryset = StockLevel.objects.select_for_update().order_by(
            "location_id", "product_id"
        )
        if len(keys) == 1:
            queryset = queryset.filter(location_id=keys[0][0], product_id=keys[0][1])
        else:
            queryset = queryset.filter(
                location_id__in=location_ids, product_id__in=product_ids
            )
        return {(s.location_id, s.product_id): s for s in queryset}

    levels = fetch()
    missing = [key for key in keys if key not in levels]
    if missing:
        StockLevel.objects.bulk_create(
            [StockLevel(location_id=loc, product_id=prod) for loc, prod in missing],
            ignore_conflicts=True,
        )
        levels = fetch()
    return levels


def stock_levels_lock_reserved(*, owner_type: str, owner_ids: Iterable) -> None:
    """Lock, in (location, product) order, the stock levels where the owners hold
    reservations, for the caller's transaction.

    A use-case that then consumes or releases those reservations one owner at a
    time (shipping, rejecting or cancelling an order's lines) would otherwise lock
    the levels in line order, and deadlock with a brokering run that locks them in
    key order. The owners' reservation rows are read unlocked: their owner (the
    order) is locked by the caller, so nobody else changes them.
    """
    keys = Reservation.objects.filter(
        owner_type=owner_type, owner_id__in=[str(owner_id) for owner_id in owner_ids]
    ).values_list("location_id", "product_id")
    with transaction.atomic():
        _lock_levels(keys)


def stock_levels_lock(*, keys: Iterable[tuple[int, int]]) -> None:
    """Lock the stock levels of (location id, product id) `keys` in key order for
    the caller's transaction, before changing them one at a time (a return's
    restock), for the same reason as `stock_levels_lock_reserved`."""
    with transaction.atomic():
        _lock_levels(keys)


def ledger_post(
    *,
    entries: Sequence[LedgerEntry],
    actor=None,
    levels: dict[tuple[int, int], StockLevel] | None = None,
) -> list[InventoryTransaction]:
    """The one way to change on_hand: write the ledger rows and update the stock
    levels in one transaction.

    Invariant: for every stock level, on_hand == sum of its ledger quantities, and
    the CHECKs (on_hand >= 0, reserved <= on_hand) hold; a change that would break
    them raises and writes nothing. Locking: the levels are locked in
    (location, product) order unless the caller passes the levels it already
    locked in this transaction.
    """
    if not entries:
        return []
    with transaction.atomic():
        if levels is None:
            levels = _lock_levels((e.location_id, e.product_id) for e in entries)
        rows: list[InventoryTransaction] = []
        touched: dict[int, StockLevel] = {}
        for entry in entries:
            level = levels[(entry.location_id, entry.product_id)]
            on_hand = level.on_hand + entry.quantity
            reserved = level.reserved - entry.consume_reserved
            if on_hand < 0 or (
                entry.keep_available is not None
                and on_hand - reserved < entry.keep_available
            ):
                raise InsufficientStock(
                    f"Only {max(level.on_hand - level.reserved, 0)} unreserved units "
                    f"of product {entry.product_id} at location {entry.location_id}.",
                    extra={"on_hand": level.on_hand, "reserved": level.reserved},
                )
            if reserved > on_hand or reserved < 0:
                raise ReservedExceedsOnHand(
                    f"{level.reserved} units are reserved; on_hand cannot drop to "
                    f"{on_hand}. Release reservations first.",
                    extra={"on_hand": level.on_hand, "reserved": level.reserved},
                )
            level.on_hand, level.reserved = on_hand, reserved
            touched[level.pk] = level
            rows.append(
                InventoryTransaction(
                    type=entry.type,
                    location_id=entry.location_id,
                    product_id=entry.product_id,
                    quantity=entry.quantity,
                    on_hand_after=on_hand,
                    reference=entry.reference[:100],
                    reason=entry.reason,
                    note=entry.note[:500],
                    actor=actor if getattr(actor, "is_authenticated", False) else None,
                )
            )
        _write_levels(list(touched.values()))
        return InventoryTransaction.objects.bulk_create(rows)


def _write_levels(levels: list[StockLevel]) -> None:
    """Store on_hand and reserved of many locked levels in one UPDATE ... FROM
    VALUES (Django's bulk_update builds a CASE per row and field, far too slow for
    a 1,000-row sync batch)."""
    now = timezone.now()
    values = ", ".join(["(%s, %s, %s)"] * len(levels))
    params: list = []
    for level in levels:
        level.updated_at = now
        params.extend([level.pk, level.on_hand, level.reserved])
    table = StockLevel._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH v(id, on_hand, reserved) AS (VALUES {values}) "
            f"UPDATE {table} SET on_hand = v.on_hand, reserved = v.reserved, "
            f"updated_at = %s FROM v WHERE {table}.id = v.id",
            [*params, now],
        )


def _post_one(entry: LedgerEntry, actor=None) -> InventoryTransaction:
    return ledger_post(entries=[entry], actor=actor)[0]


# Reservations -------------------------------------------------------------------------


# One statement: check, increment and insert commit together or not at all, in a
# single round trip (the reservation path must take >= 1,000/s on two cores).
_RESERVE_SQL = """
WITH held AS (
    UPDATE inventory_stocklevel SET reserved = reserved + %(quantity)s
    WHERE location_id = %(location_id)s AND product_id = %(product_id)s
      AND on_hand - reserved - %(safety)s >= %(quantity)s
    RETURNING 1
)
INSERT INTO inventory_reservation
    (location_id, product_id, owner_type, owner_id, quantity, created_at)
SELECT %(location_id)s, %(product_id)s, %(owner_type)s, %(owner_id)s, %(quantity)s,
    %(created_at)s
FROM held
RETURNING id
"""


def _reserve_row(reservation: Reservation, safety: int) -> bool:
    """Increment `reserved` if enough is available and insert `reservation`;
    False when not enough is available (nothing written)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                _RESERVE_SQL,
                {
                    "location_id": reservation.location_id,
                    "product_id": reservation.product_id,
                    "owner_type": reservation.owner_type,
                    "owner_id": reservation.owner_id,
                    "quantity": reservation.quantity,
                    "safety": safety,
                    "created_at": reservation.created_at,
                },
            )
            row = cursor.fetchone()
        if row is None:
            return False
        reservation.pk = row[0]
        reservation._state.adding = False
        return True
    with transaction.atomic():
        updated = StockLevel.objects.filter(
            location_id=reservation.location_id,
            product_id=reservation.product_id,
            on_hand__gte=F("reserved") + (safety + reservation.quantity),
        ).update(reserved=F("reserved") + reservation.quantity)
        if updated:
            reservation.save(force_insert=True)
        return bool(updated)


def reservation_create(
    *,
    location: Location,
    product: Product,
    quantity: int,
    owner_type: str,
    owner_id: str,
    safety_stock: int | None = None,
) -> Reservation:
    """Hold `quantity` units for an owner, or raise `InsufficientStock`.

    Invariant: reserved + safety stock never exceeds on_hand. The availability
    check and the increment are one conditional UPDATE whose row lock serialises
    racing reservations of the same stock level; on PostgreSQL the reservation row
    is inserted by the same statement (a data-modifying CTE), elsewhere in the same
    short transaction. `safety_stock` None means the location's default.
    """
    _require_positive(quantity)
    owner_type, owner_id = _owner(owner_type, owner_id)
    _require_active(location)
    safety = location.safety_stock if safety_stock is None else max(safety_stock, 0)
    reservation = Reservation(
        location=location,
        product=product,
        owner_type=owner_type,
        owner_id=owner_id,
        quantity=quantity,
        created_at=timezone.now(),
    )
    if not _reserve_row(reservation, safety):
        level = StockLevel.objects.filter(location=location, product=product).first()
        available = max(level.on_hand - level.reserved - safety, 0) if level else 0
        raise InsufficientStock(
            f"Only {available} of {product.sku} available at {location.code}; "
            f"{quantity} requested.",
            extra={"available": available, "requested": quantity},
        )
    return reservation


def _take_from_reservations(
    rows: Sequence[Reservation], quantity: int | None
) -> dict[tuple[int, int], int]:
    """Shrink `rows` (already locked) by `quantity` units, newest first (all when
    None); returns the units taken per (location, product)."""
    taken: dict[tuple[int, int], int] = defaultdict(int)
    remaining = quantity
    emptied, shrunk = [], []
    for row in rows:
        if remaining is not None and remaining <= 0:
            break
        units = row.quantity if remaining is None else min(row.quantity, remaining)
        taken[(row.location_id, row.product_id)] += units
        row.quantity -= units
        (emptied if row.quantity == 0 else shrunk).append(row)
        if remaining is not None:
            remaining -= units
    if emptied:
        Reservation.objects.filter(pk__in=[row.pk for row in emptied]).delete()
    for row in shrunk:
        row.save(update_fields=["quantity"])
    return dict(taken)


def _locked_reservations(
    owner_type: str, owner_id: str, location=None, product=None
) -> list[Reservation]:
    queryset = Reservation.objects.select_for_update().filter(
        owner_type=owner_type, owner_id=owner_id
    )
    if location is not None:
        queryset = queryset.filter(location=location)
    if product is not None:
        queryset = queryset.filter(product=product)
    return list(queryset.order_by("-id"))


def reservations_release(
    *,
    owner_type: str,
    owner_id: str,
    location: Location | None = None,
    product: Product | None = None,
    quantity: int | None = None,
) -> int:
    """Give back an owner's reserved units (all matching when `quantity` is None,
    newest reservations first) and return how many were released; releasing more
    than is held releases what is held, so calling it twice is harmless.

    Locks the owner's reservation rows, then decrements `reserved` with an UPDATE.
    """
    owner_type, owner_id = _owner(owner_type, owner_id)
    if quantity is not None:
        _require_positive(quantity)
    with transaction.atomic():
        rows = _locked_reservations(owner_type, owner_id, location, product)
        taken = _take_from_reservations(rows, quantity)
        for (location_id, product_id), units in sorted(taken.items()):
            StockLevel.objects.filter(
                location_id=location_id, product_id=product_id
            ).update(reserved=F("reserved") - units)
        return sum(taken.values())


def reservation_consume(
    *,
    owner_type: str,
    owner_id: str,
    location: Location,
    product: Product,
    quantity: int,
    reference: str,
    actor=None,
) -> InventoryTransaction:
    """Ship reserved units: the owner's reservation, `reserved` and `on_hand` all
    go down by `quantity`, with a `shipment` ledger row. Raises
    `InsufficientReservation` when the owner holds fewer units there.

    Locks the owner's reservation rows, then the stock level (via the ledger).
    """
    _require_positive(quantity)
    owner_type, owner_id = _owner(owner_type, owner_id)
    with transaction.atomic():
        rows = _locked_reservations(owner_type, owner_id, location, product)
        held = sum(row.quantity for row in rows)
        if held < quantity:
            raise InsufficientReservation(
                f"{owner_type} {owner_id} holds {held} of {product.sku} at "
                f"{location.code}; cannot ship {quantity}.",
                extra={"reserved": held, "requested": quantity},
            )
        _take_from_reservations(rows, quantity)
        return _post_one(
            LedgerEntry(
                location_id=location.pk,
                product_id=product.pk,
                quantity=-quantity,
                type=InventoryTransaction.Type.SHIPMENT,
                reference=reference,
                consume_reserved=quantity,
            ),
            actor,
        )


def stock_ship_unreserved(
    *,
    location: Location,
    product: Product,
    quantity: int,
    reference: str,
    actor=None,
) -> InventoryTransaction:
    """A sale straight from a store's shelf (POS): on_hand goes down by `quantity`
    with a `shipment` ledger row, only if that many are available (on_hand -
    reserved - the location's safety stock); otherwise `InsufficientStock`."""
    _require_positive(quantity)
    return _post_one(
        LedgerEntry(
            location_id=location.pk,
            product_id=product.pk,
            quantity=-quantity,
            type=InventoryTransaction.Type.SHIPMENT,
            reference=reference,
            keep_available=location.safety_stock,
        ),
        actor,
    )


def stock_restock_return(
    *,
    location: Location,
    product: Product,
    quantity: int,
    reference: str,
    actor=None,
) -> InventoryTransaction:
    """Returned units back on the shelf: on_hand up, `return_restock` ledger row."""
    _require_positive(quantity)
    return _post_one(
        LedgerEntry(
            location_id=location.pk,
            product_id=product.pk,
            quantity=quantity,
            type=InventoryTransaction.Type.RETURN_RESTOCK,
            reference=reference,
        ),
        actor,
    )


# Staff --------------------------------------------------------------------------------


def location_assign_staff(*, user, location: Location) -> None:
    """Let a store associate work at `location` (idempotent)."""
    StaffLocation.objects.get_or_create(user=user, location=location)


def location_unassign_staff(*, user, location: Location) -> None:
    StaffLocation.objects.filter(user=user, location=location).delete()


# Products and locations ---------------------------------------------------------------


def _insert_new(model, *, key: str, conflict: Conflict, **fields):
    """Insert a row whose `key` field must be new, else raise `conflict`.

    The exists() check answers the common case; a concurrent insert of the same
    key is caught by the unique index inside a savepoint (so a caller's
    transaction survives) and answered with the same `conflict`.
    """
    lookup = {key: fields[key]}
    if model.objects.filter(**lookup).exists():
        raise conflict
    try:
        with transaction.atomic():
            return model.objects.create(**fields)
    except IntegrityError:
        if model.objects.filter(**lookup).exists():
            raise conflict from None
        raise


def product_create(
    *, sku: str, name: str, barcode: str = "", active: bool = True, attributes=None
) -> Product:
    sku = sku.strip()
    return _insert_new(
        Product,
        key="sku",
        conflict=Conflict(
            f"A product with SKU {sku} exists.",
            code="duplicate_sku",
            field_errors={"sku": ["Already exists."]},
        ),
        sku=sku,
        name=name,
        barcode=barcode,
        active=active,
        attributes=attributes or {},
    )


def location_create(*, code: str, **fields) -> Location:
    code = code.strip()
    return _insert_new(
        Location,
        key="code",
        conflict=Conflict(
            f"A location with code {code} exists.",
            code="duplicate_location",
            field_errors={"code": ["Already exists."]},
        ),
        code=code,
        **fields,
    )


# Adjustments --------------------------------------------------------------------------


def adjustment_create(
    *,
    location: Location,
    product: Product,
    quantity: int,
    reason: str,
    note: str = "",
    actor=None,
) -> InventoryTransaction:
    """Correct on_hand by `quantity` (signed) for a reason code: damaged and lost
    take units out, found puts them in, correction goes either way."""
    if reason not in ADJUSTMENT_REASONS:
        raise ApplicationError(
            f"Unknown reason {reason!r}.",
            code="invalid_reason",
            field_errors={"reason": [f"One of {', '.join(ADJUSTMENT_REASONS)}."]},
        )
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity == 0:
        raise InvalidQuantity(
            "An adjustment changes stock by a whole number other than zero.",
            field_errors={"quantity": ["A whole number other than zero."]},
        )
    sign = ADJUSTMENT_REASONS[reason]
    if sign and (quantity > 0) != (sign > 0):
        direction = "negative" if sign < 0 else "positive"
        raise InvalidQuantity(
            f"A {reason} adjustment must be {direction}.",
            field_errors={"quantity": [f"Must be {direction} for {reason}."]},
        )
    with transaction.atomic():
        row = _post_one(
            LedgerEntry(
                location_id=location.pk,
                product_id=product.pk,
                quantity=quantity,
                type=InventoryTransaction.Type.ADJUSTMENT,
                reason=reason,
                note=note,
                reference=f"adjustment:{reason}",
            ),
            actor,
        )
        record_event(
            "inventory_transaction.adjustment_created",
            row,
            {
                "transaction_id": row.pk,
                "location": location.code,
                "sku": product.sku,
                "quantity": quantity,
                "reason": reason,
                "note": note,
                "on_hand": row.on_hand_after,
            },
        )
    return row


# Receiving and ASNs -------------------------------------------------------------------


def _items_payload(items: dict[Product, int]) -> list[dict]:
    return [{"sku": p.sku, "quantity": q} for p, q in items.items()]


def _asn_lines_payload(asn: Asn) -> list[dict]:
    return [
        {
            "sku": line.product.sku,
            "expected": line.expected_quantity,
            "received": line.received_quantity,
        }
        for line in asn.lines.select_related("product")
    ]


def asn_create(
    *,
    location: Location,
    items: Iterable[ItemQuantity],
    number: str = "",
    supplier: str = "",
    expected_at: date | None = None,
    auto_close: bool = True,
    transfer_order: TransferOrder | None = None,
    actor=None,
) -> Asn:
    """Announce units for a location. Without a `number` the ASN is numbered
    ASN-000001 and so on."""
    merged = _merge_items(items)
    _require_active(location)
    number = number.strip()
    if number and Asn.objects.filter(number=number).exists():
        raise Conflict(
            f"ASN {number} exists.",
            code="duplicate_asn",
            field_errors={"number": ["Already exists."]},
        )
    with transaction.atomic():
        asn = Asn.objects.create(
            number=number or f"tmp-{uuid.uuid4().hex}",
            location=location,
            supplier=supplier,
            expected_at=expected_at,
            auto_close=auto_close,
            transfer_order=transfer_order,
        )
        if not number:
            _numbered(Asn, asn, "ASN")
        AsnLine.objects.bulk_create(
            AsnLine(asn=asn, product=p, expected_quantity=q) for p, q in merged.items()
        )
        record_event(
            "inventory_transaction.asn_created",
            asn,
            {
                "asn": asn.number,
                "location": location.code,
                "supplier": supplier,
                "transfer_order": transfer_order.number if transfer_order else None,
                "expected_at": expected_at,
                "items": [{"sku": p.sku, "expected": q} for p, q in merged.items()],
            },
        )
    return asn


def _close_asn(asn: Asn, actor, reason: str) -> None:
    apply_transition(asn, "close", actor=actor, reason=reason)
    asn.closed_at = timezone.now()
    asn.save(update_fields=["status", "closed_at"])
    record_event(
        "inventory_transaction.asn_closed",
        asn,
        {
            "asn": asn.number,
            "location": asn.location.code,
            "fully_received": all(
                line.received_quantity >= line.expected_quantity
                for line in asn.lines.all()
            ),
            "lines": _asn_lines_payload(asn),
            "reason": reason,
        },
    )


def asn_close(*, asn: Asn, actor=None, reason: str = "") -> Asn:
    """Close an ASN by hand (also when partly received); raises
    TransitionNotAllowed (409) when it is closed already. Locks the ASN row."""
    with transaction.atomic():
        asn = (
            Asn.objects.select_for_update(of=("self",))
            .select_related("location")
            .get(pk=asn.pk)
        )
        _close_asn(asn, actor, reason or "closed by hand")
    return asn


def _apply_to_asn(asn: Asn, merged: dict[Product, int], allow_over_receipt: bool):
    """Add received units to the (locked) ASN's lines; returns whether any line got
    more than expected. Refuses unknown products, and over-receipt without the flag."""
    lines = {line.product_id: line for line in asn.lines.select_for_update()}
    unknown = [p.sku for p in merged if p.pk not in lines]
    if unknown:
        raise UnknownItem(
            f"Not on ASN {asn.number}: {', '.join(unknown)}.",
            field_errors={"items": [f"Not on this ASN: {', '.join(unknown)}."]},
        )
    over = [
        p.sku
        for p, q in merged.items()
        if lines[p.pk].received_quantity + q > lines[p.pk].expected_quantity
    ]
    if over and not allow_over_receipt:
        raise OverReceipt(
            f"More than ASN {asn.number} expects for {', '.join(over)}; "
            "set allow_over_receipt to accept the extra units.",
            field_errors={"items": [f"More than expected: {', '.join(over)}."]},
        )
    for product, quantity in merged.items():
        lines[product.pk].received_quantity += quantity
    AsnLine.objects.bulk_update(lines.values(), ["received_quantity"])
    return bool(over)


def _after_asn_receipt(asn: Asn, actor) -> None:
    if asn.status == Asn.Status.OPEN and all(
        line.received_quantity >= line.expected_quantity for line in asn.lines.all()
    ):
        apply_transition(asn, "mark_received", actor=actor, reason="fully received")
        asn.save(update_fields=["status"])
        if asn.auto_close:
            _close_asn(asn, actor, "fully received")


def _apply_to_transfer_order(transfer_order: TransferOrder, merged, actor) -> None:
    """Add received units to the (locked) transfer order's lines, never more than
    is in transit, and move it to partially_received or received."""
    lines = {line.product_id: line for line in transfer_order.lines.select_for_update()}
    unknown = [p.sku for p in merged if p.pk not in lines]
    if unknown:
        raise UnknownItem(
            f"Not on transfer order {transfer_order.number}: {', '.join(unknown)}.",
            field_errors={
                "items": [f"Not on this transfer order: {', '.join(unknown)}."]
            },
        )
    over = [p.sku for p, q in merged.items() if q > lines[p.pk].in_transit]
    if over:
        raise OverReceipt(
            f"More than was shipped on {transfer_order.number} for {', '.join(over)}.",
            field_errors={"items": [f"More than in transit: {', '.join(over)}."]},
        )
    for product, quantity in merged.items():
        lines[product.pk].received_quantity += quantity
    TransferOrderLine.objects.bulk_update(lines.values(), ["received_quantity"])
    complete = all(line.in_transit == 0 for line in lines.values())
    apply_transition(
        transfer_order, "receive_fully" if complete else "receive_partly", actor=actor
    )
    transfer_order.save(update_fields=["status"])


def items_receive(
    *,
    location: Location,
    reference_type: str,
    reference: str,
    items: Iterable[ItemQuantity],
    allow_over_receipt: bool = False,
    actor=None,
) -> Receipt:
    """Receive units at a location: on_hand up with one ledger row per product.

    - `asn`: `reference` is the ASN number; the ASN must be open and at this
      location; its lines record what arrived and it closes itself when fully
      received (if `auto_close`). More than expected is refused (400
      `over_receipt`) unless `allow_over_receipt` is set, which records the extra.
    - `transfer_order`: `reference` is the transfer order number; at most what is
      in transit may arrive (the origin's ledger fixed how many left), the
      flag does not change that. Its ASN, if any, is updated too.
    - `purchase_order`: a free reference, no expectation to check.

    Locks the ASN / transfer order row first, then its lines, then stock levels.
    """
    merged = _merge_items(items)
    reference = (reference or "").strip()
    if not reference:
        raise ApplicationError(
            "Give the reference received against.",
            code="missing_reference",
            field_errors={"reference": ["This field is required."]},
        )
    if reference_type not in Receipt.ReferenceType.values:
        raise ApplicationError(
            f"Unknown reference type {reference_type!r}.",
            code="invalid_reference_type",
            field_errors={
                "reference_type": [f"One of {Receipt.ReferenceType.values}."]
            },
        )
    with transaction.atomic():
        asn = transfer_order = None
        over = False
        ledger_type = InventoryTransaction.Type.RECEIPT
        # A transfer order is locked before its ASN, whichever was named.
        if reference_type == Receipt.ReferenceType.ASN:
            transfer_order_id = (
                Asn.objects.filter(number=reference)
                .values_list("transfer_order_id", flat=True)
                .first()
            )
            if transfer_order_id:
                transfer_order = _locked_transfer_order(
                    TransferOrder(pk=transfer_order_id)
                )
            asn = _locked_by_number(Asn, reference, "ASN")
        elif reference_type == Receipt.ReferenceType.TRANSFER_ORDER:
            transfer_order = _locked_by_number(
                TransferOrder, reference, "transfer order"
            )
            asn = (
                Asn.objects.select_for_update(of=("self",))
                .select_related("location")
                .filter(transfer_order=transfer_order)
                .first()
            )
        if asn is not None:
            if asn.location_id != location.pk:
                raise Conflict(
                    f"ASN {asn.number} is for {asn.location.code}, "
                    f"not {location.code}.",
                    code="wrong_location",
                )
            if asn.status != Asn.Status.OPEN and transfer_order is None:
                raise Conflict(
                    f"ASN {asn.number} is {asn.status}; it takes no more receipts.",
                    code="asn_not_open",
                )
        if transfer_order is not None:
            if transfer_order.status not in (
                TransferOrder.Status.SHIPPED,
                TransferOrder.Status.PARTIALLY_RECEIVED,
            ):
                raise Conflict(
                    f"Transfer order {transfer_order.number} is "
                    f"{transfer_order.status}; nothing is in transit.",
                    code="transfer_order_not_in_transit",
                )
            if transfer_order.destination_id != location.pk:
                raise Conflict(
                    f"Transfer order {transfer_order.number} goes to another location.",
                    code="wrong_location",
                )
            _apply_to_transfer_order(transfer_order, merged, actor)
            ledger_type = InventoryTransaction.Type.TRANSFER_IN
            if asn is not None and asn.status == Asn.Status.OPEN:
                _apply_to_asn(asn, merged, allow_over_receipt=True)
        elif asn is not None:
            over = _apply_to_asn(asn, merged, allow_over_receipt)
        receipt = Receipt.objects.create(
            location=location,
            reference_type=reference_type,
            reference=reference,
            asn=asn,
            transfer_order=transfer_order,
            over_receipt=over,
            actor=actor if getattr(actor, "is_authenticated", False) else None,
        )
        ReceiptLine.objects.bulk_create(
            ReceiptLine(receipt=receipt, product=p, quantity=q)
            for p, q in merged.items()
        )
        ledger_post(
            entries=[
                LedgerEntry(
                    location_id=location.pk,
                    product_id=p.pk,
                    quantity=q,
                    type=ledger_type,
                    reference=f"{reference_type}:{reference}",
                )
                for p, q in merged.items()
            ],
            actor=actor,
        )
        record_event(
            "inventory_transaction.items_received",
            receipt,
            {
                "receipt_id": receipt.pk,
                "location": location.code,
                "reference_type": reference_type,
                "reference": reference,
                "over_receipt": over,
                "items": _items_payload(merged),
            },
        )
        if asn is not None:
            _after_asn_receipt(asn, actor)
    return receipt


def _locked_by_number(model, number: str, label: str):
    instance = (
        model.objects.select_for_update(of=("self",))
        .select_related("location" if model is Asn else "origin")
        .filter(number=number)
        .first()
    )
    if instance is None:
        raise UnknownItem(
            f"No {label} {number}.",
            code=f"unknown_{model.__name__.lower()}",
            field_errors={"reference": [f"No {label} with this number."]},
        )
    return instance


# Transfer orders ----------------------------------------------------------------------


def transfer_order_create(
    *,
    origin: Location,
    destination: Location,
    items: Iterable[ItemQuantity],
    expected_at: date | None = None,
    actor=None,
) -> TransferOrder:
    """Ask for units to move from `origin` to `destination`.

    Reserves at the origin what is available now, up to each requested quantity
    (owner `transfer_order:<id>`), so orders cannot sell units promised to the
    transfer; shortfalls stay visible as requested minus reserved. Locks the
    origin's stock levels while it reads availability.
    """
    merged = _merge_items(items)
    if origin.pk == destination.pk:
        raise ApplicationError(
            "Origin and destination must differ.",
            code="same_location",
            field_errors={"destination": ["Must differ from the origin."]},
        )
    _require_active(origin)
    _require_active(destination)
    with transaction.atomic():
        transfer_order = TransferOrder.objects.create(
            number=f"tmp-{uuid.uuid4().hex}",
            origin=origin,
            destination=destination,
            expected_at=expected_at,
        )
        _numbered(TransferOrder, transfer_order, "TO")
        TransferOrderLine.objects.bulk_create(
            TransferOrderLine(
                transfer_order=transfer_order, product=p, requested_quantity=q
            )
            for p, q in merged.items()
        )
        levels = _lock_levels((origin.pk, p.pk) for p in merged)
        reserved = {}
        for product, quantity in merged.items():
            level = levels[(origin.pk, product.pk)]
            units = min(
                quantity, max(level.on_hand - level.reserved - origin.safety_stock, 0)
            )
            reserved[product.sku] = units
            if units:
                reservation_create(
                    location=origin,
                    product=product,
                    quantity=units,
                    owner_type=TRANSFER_ORDER_OWNER,
                    owner_id=transfer_order.reservation_owner_id,
                )
        record_event(
            "inventory_transaction.transfer_order_created",
            transfer_order,
            {
                "transfer_order": transfer_order.number,
                "origin": origin.code,
                "destination": destination.code,
                "expected_at": expected_at,
                "items": [
                    {"sku": p.sku, "requested": q, "reserved": reserved[p.sku]}
                    for p, q in merged.items()
                ],
            },
        )
    return transfer_order


def _locked_transfer_order(transfer_order: TransferOrder) -> TransferOrder:
    return (
        TransferOrder.objects.select_for_update(of=("self",))
        .select_related("origin", "destination")
        .get(pk=transfer_order.pk)
    )


def _units_to_ship(
    line: TransferOrderLine,
    quantities: dict[int, int] | None,
    level: StockLevel,
    origin: Location,
    reserved_here: int,
) -> int:
    """Units of `line` to ship: as asked, or by default the request capped by the
    transfer's own reservation plus what is free at the origin."""
    free = max(level.on_hand - level.reserved - origin.safety_stock, 0)
    if quantities is None:
        return min(line.requested_quantity, reserved_here + free)
    units = quantities.get(line.product_id, 0)
    if isinstance(units, bool) or not isinstance(units, int) or units < 0:
        raise InvalidQuantity(
            "Shipped quantities are whole numbers, zero or more.",
            field_errors={"items": ["Whole numbers, zero or more."]},
        )
    if units > line.requested_quantity:
        raise InvalidQuantity(
            f"{line.product.sku}: {units} is more than requested "
            f"({line.requested_quantity}).",
            field_errors={"items": ["More than requested."]},
        )
    return units


def transfer_order_ship(
    *,
    transfer_order: TransferOrder,
    quantities: dict[int, int] | None = None,
    carrier: str = "",
    tracking_number: str = "",
    actor=None,
) -> TransferOrder:
    """Ship from the origin: stock leaves it (`transfer_out`), reserved units first.

    `quantities` maps product id to units (default: each line's requested
    quantity, capped by what is reserved for it plus what is available). With a
    carrier or tracking number the shipment is handed to a carrier
    (`items_ready_for_handover`); without one an ASN is created at the destination
    (`asn_created`). Whatever was reserved but not shipped is released.
    Locks the transfer order, its reservations, then the origin's stock levels.
    """
    with transaction.atomic():
        transfer_order = _locked_transfer_order(transfer_order)
        apply_transition(transfer_order, "ship", actor=actor)
        origin = transfer_order.origin
        lines = list(
            transfer_order.lines.select_related("product").select_for_update(
                of=("self",)
            )
        )
        unknown = set(quantities or {}) - {line.product_id for line in lines}
        if unknown:
            raise UnknownItem(
                "Items not on this transfer order.",
                field_errors={"items": ["Not on this transfer order."]},
            )
        owner_id = transfer_order.reservation_owner_id
        held: dict[int, int] = defaultdict(int)
        for row in _locked_reservations(TRANSFER_ORDER_OWNER, owner_id):
            held[row.product_id] += row.quantity
        levels = _lock_levels((origin.pk, line.product_id) for line in lines)
        entries = []
        for line in lines:
            level = levels[(origin.pk, line.product_id)]
            reserved_here = held[line.product_id]
            units = _units_to_ship(line, quantities, level, origin, reserved_here)
            line.shipped_quantity = units
            if units:
                # The whole hold leaves `reserved`; units beyond it must be free.
                entries.append(
                    LedgerEntry(
                        location_id=origin.pk,
                        product_id=line.product_id,
                        quantity=-units,
                        type=InventoryTransaction.Type.TRANSFER_OUT,
                        reference=f"transfer_order:{transfer_order.number}",
                        consume_reserved=reserved_here,
                        keep_available=(
                            origin.safety_stock if units > reserved_here else None
                        ),
                    )
                )
            elif reserved_here:
                StockLevel.objects.filter(pk=level.pk).update(
                    reserved=F("reserved") - reserved_here
                )
                level.reserved -= reserved_here
        if not entries:
            raise InsufficientStock(
                f"Nothing available to ship at {origin.code}; close the transfer "
                "order instead.",
            )
        Reservation.objects.filter(
            owner_type=TRANSFER_ORDER_OWNER, owner_id=owner_id
        ).delete()
        ledger_post(entries=entries, actor=actor, levels=levels)
        TransferOrderLine.objects.bulk_update(lines, ["shipped_quantity"])
        transfer_order.carrier = carrier.strip()
        transfer_order.tracking_number = tracking_number.strip()
        transfer_order.shipped_at = timezone.now()
        transfer_order.save(
            update_fields=["status", "carrier", "tracking_number", "shipped_at"]
        )
        shipped = {
            line.product: line.shipped_quantity
            for line in lines
            if line.shipped_quantity
        }
        if transfer_order.carrier or transfer_order.tracking_number:
            record_event(
                "inventory_transaction.items_ready_for_handover",
                transfer_order,
                {
                    "transfer_order": transfer_order.number,
                    "origin": origin.code,
                    "destination": transfer_order.destination.code,
                    "carrier": transfer_order.carrier,
                    "tracking_number": transfer_order.tracking_number,
                    "items": _items_payload(shipped),
                },
            )
        else:
            asn_create(
                location=transfer_order.destination,
                items=shipped.items(),
                number=f"ASN-{transfer_order.number}",
                supplier=f"Transfer from {origin.code}",
                expected_at=transfer_order.expected_at,
                transfer_order=transfer_order,
                actor=actor,
            )
    return transfer_order


def transfer_order_receive(
    *,
    transfer_order: TransferOrder,
    items: Iterable[ItemQuantity] | None = None,
    actor=None,
) -> Receipt:
    """Receive a shipped transfer order at its destination (`transfer_in`); without
    `items`, everything still in transit."""
    if items is None:
        items = [
            ItemQuantity(line.product, line.in_transit)
            for line in transfer_order.lines.select_related("product")
            if line.in_transit
        ]
    return items_receive(
        location=transfer_order.destination,
        reference_type=Receipt.ReferenceType.TRANSFER_ORDER,
        reference=transfer_order.number,
        items=items,
        actor=actor,
    )


def transfer_order_close(
    *, transfer_order: TransferOrder, actor=None, reason: str = ""
) -> TransferOrder:
    """Close a transfer order by hand, also when partly fulfilled: units never
    shipped are cancelled and their reservation at the origin is released (stock
    available again); units shipped but not received are booked as not received
    (they left the origin's ledger and never entered the destination's); an ASN
    still open for it is closed. Raises TransitionNotAllowed (409) when closed.
    Locks the transfer order, then its reservations and lines."""
    with transaction.atomic():
        transfer_order = _locked_transfer_order(transfer_order)
        apply_transition(transfer_order, "close", actor=actor, reason=reason)
        released = reservations_release(
            owner_type=TRANSFER_ORDER_OWNER,
            owner_id=transfer_order.reservation_owner_id,
        )
        lines = list(
            transfer_order.lines.select_related("product").select_for_update(
                of=("self",)
            )
        )
        for line in lines:
            line.cancelled_quantity = line.requested_quantity - line.shipped_quantity
        TransferOrderLine.objects.bulk_update(lines, ["cancelled_quantity"])
        transfer_order.closed_at = timezone.now()
        transfer_order.save(update_fields=["status", "closed_at"])
        asn = (
            Asn.objects.select_for_update(of=("self",))
            .select_related("location")
            .filter(transfer_order=transfer_order)
            .first()
        )
        if asn is not None and asn.status != Asn.Status.CLOSED:
            _close_asn(asn, actor, f"transfer order {transfer_order.number} closed")
        record_event(
            "inventory_transaction.transfer_order_closed",
            transfer_order,
            {
                "transfer_order": transfer_order.number,
                "origin": transfer_order.origin.code,
                "destination": transfer_order.destination.code,
                "reason": reason,
                "released_reserved": released,
                "lines": [
                    {
                        "sku": line.product.sku,
                        "requested": line.requested_quantity,
                        "shipped": line.shipped_quantity,
                        "received": line.received_quantity,
                        "cancelled": line.cancelled_quantity,
                        "not_received": line.in_transit,
                    }
                    for line in lines
                ],
            },
        )
    return transfer_order


# Cycle counts -------------------------------------------------------------------------


def cycle_count_create(
    *,
    location: Location,
    products: Iterable[Product],
    note: str = "",
    actor=None,
    recount_of: CycleCount | None = None,
) -> CycleCount:
    """Open a count of `products` at an active location."""
    products = list(dict.fromkeys(products))
    if not products:
        raise ApplicationError(
            "Choose at least one product to count.",
            code="no_items",
            field_errors={"products": ["At least one product."]},
        )
    _require_active(location)
    with transaction.atomic():
        count = CycleCount.objects.create(
            location=location, note=note, recount_of=recount_of
        )
        CycleCountLine.objects.bulk_create(
            CycleCountLine(cycle_count=count, product=p) for p in products
        )
    return count


def _on_hand_at(
    location: Location, product_ids: list[int], moment: datetime
) -> dict[int, int]:
    """on_hand of each product at `moment`: the live level minus the ledger rows
    written after it (the levels are locked by the caller)."""
    live = dict(
        StockLevel.objects.filter(
            location=location, product_id__in=product_ids
        ).values_list("product_id", "on_hand")
    )
    since = dict(
        InventoryTransaction.objects.filter(
            location=location, product_id__in=product_ids, created_at__gt=moment
        )
        .values("product_id")
        .annotate(total=Sum("quantity"))
        .values_list("product_id", "total")
    )
    return {pid: live.get(pid, 0) - since.get(pid, 0) for pid in product_ids}


def cycle_count_submit(
    *,
    cycle_count: CycleCount,
    counts: dict[int, int],
    counted_at: datetime | None = None,
    actor=None,
) -> CycleCount:
    """Record the counted units per product id (every line, zero allowed).

    Each line's expected quantity is the ledger's on_hand at `counted_at` (default:
    now), so units sold or received while the count was being submitted or
    reviewed are not mistaken for discrepancies. Locks the count, then the stock
    levels of its products."""
    with transaction.atomic():
        cycle_count = (
            CycleCount.objects.select_for_update(of=("self",))
            .select_related("location")
            .get(pk=cycle_count.pk)
        )
        apply_transition(cycle_count, "submit", actor=actor)
        lines = list(cycle_count.lines.select_related("product"))
        by_product = {line.product_id: line for line in lines}
        errors = []
        if set(counts) - set(by_product):
            errors.append("Products not in this count.")
        missing = [line.product.sku for line in lines if line.product_id not in counts]
        if missing:
            errors.append(f"Count every product; missing: {', '.join(missing)}.")
        if any(
            isinstance(q, bool) or not isinstance(q, int) or q < 0
            for q in counts.values()
        ):
            errors.append("Counted quantities are whole numbers, zero or more.")
        now = timezone.now()
        moment = counted_at or now
        if moment > now or moment < cycle_count.created_at:
            errors.append("The count time lies between the count's creation and now.")
        if errors:
            raise ApplicationError(
                " ".join(errors), code="invalid_count", field_errors={"counts": errors}
            )
        _lock_levels((cycle_count.location_id, pid) for pid in by_product)
        expected = _on_hand_at(cycle_count.location, list(by_product), moment)
        for pid, line in by_product.items():
            line.counted_quantity = counts[pid]
            line.expected_quantity = expected[pid]
        CycleCountLine.objects.bulk_update(
            lines, ["counted_quantity", "expected_quantity"]
        )
        cycle_count.counted_at = moment
        cycle_count.save(update_fields=["status", "counted_at"])
        record_event(
            "inventory_count.items_counted",
            cycle_count,
            {
                "cycle_count_id": cycle_count.pk,
                "location": cycle_count.location.code,
                "counted_at": moment,
                "lines": _count_lines_payload(lines),
            },
        )
    return cycle_count


def _count_lines_payload(lines: Iterable[CycleCountLine]) -> list[dict]:
    return [
        {
            "sku": line.product.sku,
            "counted": line.counted_quantity,
            "expected": line.expected_quantity,
            "discrepancy": line.discrepancy,
        }
        for line in lines
    ]


def cycle_count_approve(
    *, cycle_count: CycleCount, actor=None, reason: str = ""
) -> CycleCount:
    """Accept the count: each discrepancy is posted as a `count_adjustment` on top of
    the live on_hand. Refused (409) if that would take on_hand below zero or below
    the reserved units. Locks the count, then the stock levels (via the ledger)."""
    with transaction.atomic():
        cycle_count = (
            CycleCount.objects.select_for_update(of=("self",))
            .select_related("location")
            .get(pk=cycle_count.pk)
        )
        apply_transition(cycle_count, "approve", actor=actor, reason=reason)
        lines = list(cycle_count.lines.select_related("product"))
        ledger_post(
            entries=[
                LedgerEntry(
                    location_id=cycle_count.location_id,
                    product_id=line.product_id,
                    quantity=line.discrepancy,
                    type=InventoryTransaction.Type.COUNT_ADJUSTMENT,
                    reference=f"cycle_count:{cycle_count.pk}",
                )
                for line in lines
                if line.discrepancy
            ],
            actor=actor,
        )
        cycle_count.reviewed_at = timezone.now()
        cycle_count.save(update_fields=["status", "reviewed_at"])
        record_event(
            "inventory_count.approved",
            cycle_count,
            {
                "cycle_count_id": cycle_count.pk,
                "location": cycle_count.location.code,
                "adjustments": [
                    {"sku": line.product.sku, "quantity": line.discrepancy}
                    for line in lines
                    if line.discrepancy
                ],
            },
        )
    return cycle_count


def cycle_count_reject(
    *, cycle_count: CycleCount, actor=None, reason: str = ""
) -> CycleCount:
    """Refuse the count (no stock change) and open a recount of the same products;
    returns the recount."""
    with transaction.atomic():
        cycle_count = (
            CycleCount.objects.select_for_update(of=("self",))
            .select_related("location")
            .get(pk=cycle_count.pk)
        )
        apply_transition(cycle_count, "reject", actor=actor, reason=reason)
        cycle_count.reviewed_at = timezone.now()
        cycle_count.save(update_fields=["status", "reviewed_at"])
        recount = cycle_count_create(
            location=cycle_count.location,
            products=[
                line.product for line in cycle_count.lines.select_related("product")
            ],
            note=f"Recount of count {cycle_count.pk}",
            recount_of=cycle_count,
            actor=actor,
        )
        record_event(
            "inventory_count.rejected",
            cycle_count,
            {
                "cycle_count_id": cycle_count.pk,
                "location": cycle_count.location.code,
                "reason": reason,
                "recount_id": recount.pk,
            },
        )
    return recount


# ERP stock sync -----------------------------------------------------------------------


class SyncRow(NamedTuple):
    line: int
    location: str
    sku: str
    quantity: str


SYNC_COLUMNS = ("location", "sku", "quantity")


def sync_rows_from_csv(stream) -> Iterator[SyncRow]:
    """Read `location,sku,quantity` rows (header first) from a binary or text
    stream, one at a time: the file is never loaded whole. The header is checked
    at once, before any row is applied."""
    text = (
        stream
        if isinstance(stream, io.TextIOBase)
        else io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    )
    reader = csv.reader(text)
    try:
        header = [cell.strip().lower() for cell in next(reader, [])]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ApplicationError(
            f"Not a readable CSV file: {exc}",
            code="invalid_csv",
            field_errors={"file": ["Not a readable UTF-8 CSV file."]},
        ) from exc
    if tuple(header[:3]) != SYNC_COLUMNS:
        raise ApplicationError(
            "The CSV must start with the header location,sku,quantity.",
            code="invalid_csv",
            field_errors={"file": ["Header must be: location,sku,quantity."]},
        )
    return _csv_rows(reader)


def _csv_rows(reader) -> Iterator[SyncRow]:
    number = 1
    try:
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            cells = [cell.strip() for cell in cells] + ["", "", ""]
            yield SyncRow(number, cells[0], cells[1], cells[2])
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ApplicationError(
            f"The file is unreadable after line {number}: {exc}. The rows before "
            "it were applied.",
            code="invalid_csv",
            field_errors={"file": ["Not a readable UTF-8 CSV file."]},
        ) from exc


def _batches(rows: Iterable, size: int) -> Iterator[list]:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _sync_quantity(row: SyncRow) -> int | None:
    quantity = row.quantity
    if quantity.isascii() and quantity.isdigit() and int(quantity) <= MAX_UNITS:
        return int(quantity)
    return None


def _sync_row_error(
    row: SyncRow, locations: Mapping[str, Location], products: Mapping[str, Product]
) -> str:
    """Why a sync row cannot apply on its own ("" when it can)."""
    if "\x00" in "".join(row[1:]):
        return "The row contains a NUL character."
    if row.location not in locations:
        return f"Unknown location {row.location!r}."
    if row.sku not in products:
        return f"Unknown SKU {row.sku!r}."
    if _sync_quantity(row) is None:
        return f"Quantity {row.quantity!r} is not a whole number of zero or more."
    return ""


def _below_reserved(level: StockLevel, quantity: int) -> str:
    if quantity < level.reserved:
        return (
            f"{level.reserved} units are reserved; on_hand cannot be set to {quantity}."
        )
    return ""


def _sync_row_target(row: SyncRow) -> tuple[tuple[int, int], int]:
    """The (location id, product id) and quantity of one sync row; 400 with the
    stock sync's reason when the row cannot apply."""
    clean = "\x00" not in "".join(row[1:])
    locations = {
        location.code: location
        for location in Location.objects.filter(code=row.location if clean else "")
    }
    products = {
        product.sku: product
        for product in Product.objects.filter(sku=row.sku if clean else "")
    }
    if error := _sync_row_error(row, locations, products):
        raise ApplicationError(error, code="invalid_sync_row")
    key = (locations[row.location].pk, products[row.sku].pk)
    return key, _sync_quantity(row)


def stock_sync_row_preview(*, row: SyncRow) -> tuple[int, int]:
    """What `stock_sync_row_apply` would do, without locking or writing: the
    current on_hand and the change; raises what it would raise."""
    key, quantity = _sync_row_target(row)
    level = StockLevel.objects.filter(location_id=key[0], product_id=key[1]).first()
    level = level or StockLevel(location_id=key[0], product_id=key[1])
    if below := _below_reserved(level, quantity):
        raise Conflict(below, code="below_reserved")
    return level.on_hand, quantity - level.on_hand


def stock_sync_row_apply(
    *, row: SyncRow, actor=None, reference: str
) -> tuple[int, int]:
    """One row of a stock sync on its own (a sync run as a background job): set
    on_hand of one (location, SKU) to the ERP's quantity with an `adjustment`
    ledger row (reason `sync`), by the same rules as `stock_sync_run`. Returns the
    on_hand before and the change (0: nothing written). Locks the stock level."""
    key, quantity = _sync_row_target(row)
    with transaction.atomic():
        levels = _lock_levels([key])
        level = levels[key]
        if below := _below_reserved(level, quantity):
            raise Conflict(below, code="below_reserved")
        before = level.on_hand
        if quantity != before:
            ledger_post(
                entries=[
                    LedgerEntry(
                        location_id=key[0],
                        product_id=key[1],
                        quantity=quantity - before,
                        type=InventoryTransaction.Type.ADJUSTMENT,
                        reason=InventoryTransaction.Reason.SYNC,
                        reference=reference,
                    )
                ],
                actor=actor,
                levels=levels,
            )
        return before, quantity - before


def _sync_batch(
    sync: StockSync, batch: list[SyncRow], locations: dict[str, Location], actor
) -> list[dict]:
    """Apply one batch in its own transaction; returns its rejected rows."""
    rejected: list[dict] = []
    products = {
        p.sku: p
        for p in Product.objects.filter(
            sku__in={row.sku for row in batch if "\x00" not in row.sku}
        )
    }
    targets: dict[tuple[int, int], tuple[SyncRow, int]] = {}
    for row in batch:
        error = _sync_row_error(row, locations, products)
        if not error:
            key = (locations[row.location].pk, products[row.sku].pk)
            if key in targets:
                error = f"Duplicate of line {targets[key][0].line}."
            else:
                targets[key] = (row, _sync_quantity(row))
        if error:
            rejected.append({"line": row.line, "row": list(row[1:]), "error": error})
    with transaction.atomic():
        levels = _lock_levels(targets)
        entries = []
        for key, (row, quantity) in targets.items():
            level = levels[key]
            if below := _below_reserved(level, quantity):
                rejected.append(
                    {"line": row.line, "row": list(row[1:]), "error": below}
                )
            elif quantity != level.on_hand:
                entries.append(
                    LedgerEntry(
                        location_id=key[0],
                        product_id=key[1],
                        quantity=quantity - level.on_hand,
                        type=InventoryTransaction.Type.ADJUSTMENT,
                        reason=InventoryTransaction.Reason.SYNC,
                        reference=f"sync:{sync.pk}",
                    )
                )
        ledger_post(entries=entries, actor=actor, levels=levels)
    sync.rows_total += len(batch)
    sync.rows_changed += len(entries)
    sync.rows_rejected += len(rejected)
    sync.rows_unchanged += len(batch) - len(entries) - len(rejected)
    return rejected


def stock_sync_run(
    *,
    rows: Iterable[SyncRow],
    source: str = "",
    actor=None,
    batch_size: int = SYNC_BATCH_SIZE,
) -> StockSync:
    """Set on_hand to the ERP's absolute quantities; each difference becomes an
    `adjustment` ledger row (reason `sync`).

    Rows are consumed as a stream and applied in batches, each batch in its own
    short transaction (locks on at most `batch_size` stock levels at a time), so a
    100,000-row file neither sits in memory nor blocks routing. A sync is
    therefore not all-or-nothing: rows are applied or rejected one by one, and
    the report (`StockSync`) says which. Stock levels absent from the file are left
    as they are. Rejected: unknown location or SKU, a quantity that is not a whole
    number >= 0, a duplicate (location, SKU), a quantity below the reserved units.
    """
    sync = StockSync.objects.create(
        source=source[:200],
        actor=actor if getattr(actor, "is_authenticated", False) else None,
    )
    locations = {location.code: location for location in Location.objects.all()}
    rejected: list[dict] = []
    for batch in _batches(rows, batch_size):
        for row in _sync_batch(sync, batch, locations, actor):
            if len(rejected) < StockSync.MAX_REJECTED_KEPT:
                rejected.append(row)
    sync.rejected = sorted(rejected, key=lambda row: row["line"])
    sync.finished_at = timezone.now()
    with transaction.atomic():
        sync.save()
        record_event(
            "inventory_sync.completed",
            sync,
            {
                "sync_id": sync.pk,
                "source": sync.source,
                "rows_total": sync.rows_total,
                "rows_changed": sync.rows_changed,
                "rows_unchanged": sync.rows_unchanged,
                "rows_rejected": sync.rows_rejected,
            },
        )
    return sync


# Batched reservations (routing) ------------------------------------------------------


class ReservationRequest(NamedTuple):
    location_id: int
    product_id: int
    quantity: int
    owner_id: str
    safety_stock: int


_LOCK_LEVELS_SQL = """
SELECT 1 FROM inventory_stocklevel s
JOIN jsonb_to_recordset(%s::jsonb) AS v(location_id bigint, product_id bigint)
  ON s.location_id = v.location_id AND s.product_id = v.product_id
ORDER BY s.location_id, s.product_id
FOR UPDATE OF s
"""

_RESERVE_BULK_SQL = """
WITH req AS (
    SELECT * FROM jsonb_to_recordset(%s::jsonb) AS r(
        idx int, location_id bigint, product_id bigint, quantity int, owner_id text,
        safety int
    )
),
wanted AS (
    SELECT location_id, product_id, SUM(quantity) AS quantity, MAX(safety) AS safety
    FROM req GROUP BY location_id, product_id
),
held AS (
    UPDATE inventory_stocklevel s SET reserved = s.reserved + w.quantity
    FROM wanted w
    WHERE s.location_id = w.location_id AND s.product_id = w.product_id
      AND s.on_hand - s.reserved - w.safety >= w.quantity
    RETURNING s.location_id, s.product_id
),
made AS (
    INSERT INTO inventory_reservation
        (location_id, product_id, owner_type, owner_id, quantity, created_at)
    SELECT r.location_id, r.product_id, %s, r.owner_id, r.quantity, %s
    FROM req r JOIN held h USING (location_id, product_id)
    RETURNING 1
)
SELECT r.idx FROM req r JOIN held h USING (location_id, product_id)
"""


def reservations_create_bulk(
    *, owner_type: str, requests: Sequence[ReservationRequest]
) -> list[bool]:
    """Reserve many (location, product, quantity, owner) at once; returns, per
    request, whether it was reserved. All requests of one stock level succeed or
    fail together: the level's `reserved` grows by their sum only when on_hand -
    reserved - safety stock covers it (the same invariant as `reservation_create`).

    Two statements on PostgreSQL whatever the number of requests, each with the
    requests as one JSON parameter: the stock levels are locked in (location,
    product) order, as every other writer does, then one data-modifying statement
    increments them and inserts the reservations. The caller's transaction holds
    the locks; elsewhere one `reservation_create`-style conditional update per
    request.
    """
    if not requests:
        return []
    owner_type = _owner(owner_type, "-")[0]
    for request in requests:
        _require_positive(request.quantity)
    if connection.vendor != "postgresql":
        return [
            _reserve_row(
                Reservation(
                    location_id=r.location_id,
                    product_id=r.product_id,
                    owner_type=owner_type,
                    owner_id=r.owner_id,
                    quantity=r.quantity,
                    created_at=timezone.now(),
                ),
                max(r.safety_stock, 0),
            )
            for r in requests
        ]
    pairs = sorted({(r.location_id, r.product_id) for r in requests})
    rows = [
        {
            "idx": i,
            "location_id": r.location_id,
            "product_id": r.product_id,
            "quantity": r.quantity,
            "owner_id": str(r.owner_id),
            "safety": max(r.safety_stock, 0),
        }
        for i, r in enumerate(requests)
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _LOCK_LEVELS_SQL,
            [json.dumps([{"location_id": loc, "product_id": p} for loc, p in pairs])],
        )
        cursor.execute(
            _RESERVE_BULK_SQL, [json.dumps(rows), owner_type, timezone.now()]
        )
        reserved = {row[0] for row in cursor.fetchall()}
    return [i in reserved for i in range(len(requests))]
