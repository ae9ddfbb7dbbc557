"""Read queries of the inventory app, shared by the API, the pages and other apps."""

from collections.abc import Iterable

from django.db.models import (
    Count,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest
from django.shortcuts import get_object_or_404
from django.utils import timezone

from inventory.models import (
    Asn,
    CycleCount,
    InventoryTransaction,
    Location,
    Product,
    Receipt,
    Reservation,
    StockLevel,
    StockSync,
    TransferOrder,
)
from oms.db.compiled import CompiledQuery
from oms.roles import Role, has_role

_PRODUCTS_BY_SKU = CompiledQuery(lambda skus: Product.objects.filter(sku__in=skus))


def products_by_sku(*, skus: Iterable[str]) -> dict[str, Product]:
    """Products of the given SKUs, keyed by SKU (unknown SKUs are absent); one query."""
    return {p.sku: p for p in _PRODUCTS_BY_SKU(sorted(set(skus)))}


def locations_by_code(*, codes: Iterable[str]) -> dict[str, Location]:
    """Locations of the given codes, keyed by code; one query."""
    return {loc.code: loc for loc in Location.objects.filter(code__in=set(codes))}


def _available_expression(safety_stock_override: int | None = None):
    safety = (
        Value(max(safety_stock_override, 0))
        if safety_stock_override is not None
        else F("location__safety_stock")
    )
    return Greatest(
        ExpressionWrapper(
            F("on_hand") - F("reserved") - safety, output_field=IntegerField()
        ),
        Value(0),
    )


def stock_available(
    *,
    product_ids: Iterable[int],
    location_ids: Iterable[int] | None = None,
    safety_stock_override: int | None = None,
) -> dict[tuple[int, int], int]:
    """(location_id, product_id) → available units (on_hand - reserved - safety
    stock, never below 0) for active locations; one query. Pairs without a stock
    level are absent (0 available)."""
    queryset = StockLevel.objects.filter(
        product_id__in=set(product_ids), location__active=True
    )
    if location_ids is not None:
        queryset = queryset.filter(location_id__in=set(location_ids))
    rows = queryset.annotate(
        available_units=_available_expression(safety_stock_override)
    ).values_list("location_id", "product_id", "available_units")
    return {(loc, prod): units for loc, prod, units in rows}


def locations_for_user(*, user) -> QuerySet[Location]:
    """Locations a user works at: all for admins and inventory managers, the
    assigned ones for everyone else (store associates)."""
    if has_role(user, Role.INVENTORY_MANAGER):
        return Location.objects.all()
    return Location.objects.filter(staff_assignments__user=user)


def visible_to(queryset: QuerySet, *, user, through: tuple[str, ...] = ("location",)):
    """The rows of `queryset` that `user` may see: everything for CSRs, inventory
    managers, integrations and admins; for a store associate the rows at one of
    their locations, reached through any of the `through` fields (a transfer
    order is theirs when it leaves from or arrives at their store)."""
    if has_role(user, Role.CSR, Role.INVENTORY_MANAGER, Role.INTEGRATION):
        return queryset
    own = locations_for_user(user=user).values("pk")
    at_own_location = Q()
    for field in through:
        at_own_location |= Q(**{f"{field}__in": own})
    return queryset.filter(at_own_location)


TRANSFER_ORDER_ENDS = ("origin", "destination")


def visible_or_404(user, queryset: QuerySet, pk, *, through=("location",)):
    """The row `pk` if `user` may see it (see `visible_to`), else a 404: another
    store's documents are not even confirmed to exist."""
    return get_object_or_404(visible_to(queryset, user=user, through=through), pk=pk)


def visible_transfer_order_or_404(user, queryset: QuerySet, pk) -> TransferOrder:
    """A transfer order `user` may see: for a store associate, one leaving from or
    arriving at their store."""
    return visible_or_404(user, queryset, pk, through=TRANSFER_ORDER_ENDS)


def user_may_act_at(*, user, location: Location) -> bool:
    """Store associates act only at their own locations; other staff and API
    clients with an inventory role act anywhere."""
    if not has_role(user, Role.STORE_ASSOCIATE) or has_role(
        user, Role.INVENTORY_MANAGER, Role.INTEGRATION
    ):
        return True
    return location.staff_assignments.filter(user=user).exists()


def reservations_for_owner(*, owner_type: str, owner_id: str) -> QuerySet[Reservation]:
    return (
        Reservation.objects.filter(owner_type=owner_type, owner_id=str(owner_id))
        .select_related("location", "product")
        .order_by("id")
    )


def product_list(*, search: str = "", active: bool | None = None) -> QuerySet[Product]:
    queryset = Product.objects.all()
    if search:
        queryset = queryset.filter(
            Q(sku__icontains=search) | Q(name__icontains=search) | Q(barcode=search)
        )
    if active is not None:
        queryset = queryset.filter(active=active)
    return queryset


def location_list(*, type: str = "", active: bool | None = None) -> QuerySet[Location]:
    queryset = Location.objects.all()
    if type:
        queryset = queryset.filter(type=type)
    if active is not None:
        queryset = queryset.filter(active=active)
    return queryset


def stock_list(
    *,
    location_code: str = "",
    sku: str = "",
    search: str = "",
    in_stock: bool = False,
    location_ids: Iterable[int] | None = None,
) -> QuerySet[StockLevel]:
    """Stock levels with `available_units` annotated; `in_stock` keeps those with
    available > 0."""
    queryset = StockLevel.objects.select_related("location", "product").annotate(
        available_units=_available_expression()
    )
    if location_code:
        queryset = queryset.filter(location__code=location_code)
    if location_ids is not None:
        queryset = queryset.filter(location_id__in=location_ids)
    if sku:
        queryset = queryset.filter(product__sku=sku)
    if search:
        queryset = queryset.filter(
            Q(product__sku__icontains=search) | Q(product__name__icontains=search)
        )
    if in_stock:
        queryset = queryset.filter(available_units__gt=0)
    return queryset


def ledger_list(
    *,
    location_code: str = "",
    sku: str = "",
    type: str = "",
    reference: str = "",
) -> QuerySet[InventoryTransaction]:
    queryset = InventoryTransaction.objects.select_related(
        "location", "product", "actor"
    )
    if location_code:
        queryset = queryset.filter(location__code=location_code)
    if sku:
        queryset = queryset.filter(product__sku=sku)
    if type:
        queryset = queryset.filter(type=type)
    if reference:
        queryset = queryset.filter(reference=reference)
    return queryset.order_by("-id")


def receipt_list() -> QuerySet[Receipt]:
    return (
        Receipt.objects.select_related("location")
        .prefetch_related("lines__product")
        .order_by("-id")
    )


def asn_list(*, status: str = "", location_code: str = "") -> QuerySet[Asn]:
    queryset = (
        Asn.objects.select_related("location", "transfer_order")
        .prefetch_related("lines__product")
        .annotate(
            expected_units=Coalesce(Sum("lines__expected_quantity"), 0),
            received_units=Coalesce(Sum("lines__received_quantity"), 0),
        )
    )
    if status:
        queryset = queryset.filter(status=status)
    if location_code:
        queryset = queryset.filter(location__code=location_code)
    return queryset.order_by("-id")


def transfer_order_list(
    *, status: str = "", overdue: bool = False, location_code: str = ""
) -> QuerySet[TransferOrder]:
    """Transfer orders with their unit totals; `overdue` keeps the ones not closed
    whose expected date has passed."""
    queryset = (
        TransferOrder.objects.select_related("origin", "destination")
        .prefetch_related("lines__product")
        .annotate(
            requested_units=Coalesce(Sum("lines__requested_quantity"), 0),
            shipped_units=Coalesce(Sum("lines__shipped_quantity"), 0),
            received_units=Coalesce(Sum("lines__received_quantity"), 0),
        )
    )
    if status:
        queryset = queryset.filter(status=status)
    if overdue:
        queryset = overdue_transfer_orders(queryset)
    if location_code:
        queryset = queryset.filter(
            Q(origin__code=location_code) | Q(destination__code=location_code)
        )
    return queryset.order_by("-id")


def overdue_transfer_orders(queryset=None) -> QuerySet[TransferOrder]:
    queryset = TransferOrder.objects.all() if queryset is None else queryset
    return queryset.exclude(status=TransferOrder.Status.CLOSED).filter(
        expected_at__lt=timezone.localdate()
    )


def transfer_order_close_preview(*, transfer_order: TransferOrder) -> list[dict]:
    """What closing now would do, per line: units cancelled (never shipped) and
    units not received (shipped, still missing), plus the reservation released."""
    held = dict(
        Reservation.objects.filter(
            owner_type="transfer_order", owner_id=transfer_order.reservation_owner_id
        )
        .values("product_id")
        .annotate(total=Sum("quantity"))
        .values_list("product_id", "total")
    )
    return [
        {
            "line": line,
            "cancel": line.requested_quantity - line.shipped_quantity,
            "not_received": line.in_transit,
            "release": held.get(line.product_id, 0),
        }
        for line in transfer_order.lines.select_related("product")
    ]


def cycle_count_list(
    *, status: str = "", location_code: str = ""
) -> QuerySet[CycleCount]:
    queryset = CycleCount.objects.select_related("location").annotate(
        line_count=Count("lines"),
        discrepancy_count=Count(
            "lines",
            filter=Q(lines__counted_quantity__isnull=False)
            & ~Q(lines__counted_quantity=F("lines__expected_quantity")),
        ),
    )
    if status:
        queryset = queryset.filter(status=status)
    if location_code:
        queryset = queryset.filter(location__code=location_code)
    return queryset.order_by("-id")


def stock_sync_list() -> QuerySet[StockSync]:
    return StockSync.objects.select_related("actor").order_by("-id")


def stock_ledger_mismatches() -> list[dict]:
    """Stock levels whose on_hand differs from the sum of their ledger rows, or
    whose reserved differs from the sum of their reservations. Empty when the
    books are exact. Three aggregate queries, whatever the size."""
    ledger = {
        (row["location_id"], row["product_id"]): row["total"]
        for row in InventoryTransaction.objects.values("location_id", "product_id")
        .annotate(total=Sum("quantity"))
        .order_by()
    }
    held = {
        (row["location_id"], row["product_id"]): row["total"]
        for row in Reservation.objects.values("location_id", "product_id")
        .annotate(total=Sum("quantity"))
        .order_by()
    }
    mismatches = []
    seen = set()
    for level in StockLevel.objects.values(
        "location_id", "product_id", "on_hand", "reserved"
    ).iterator(chunk_size=5000):
        key = (level["location_id"], level["product_id"])
        seen.add(key)
        ledger_total, reserved_total = ledger.get(key, 0), held.get(key, 0)
        if level["on_hand"] != ledger_total or level["reserved"] != reserved_total:
            mismatches.append(
                {
                    "location_id": key[0],
                    "product_id": key[1],
                    "on_hand": level["on_hand"],
                    "ledger_sum": ledger_total,
                    "reserved": level["reserved"],
                    "reservations_sum": reserved_total,
                }
            )
    for key in (set(ledger) | set(held)) - seen:
        mismatches.append(
            {
                "location_id": key[0],
                "product_id": key[1],
                "on_hand": None,
                "ledger_sum": ledger.get(key, 0),
                "reserved": None,
                "reservations_sum": held.get(key, 0),
            }
        )
    return mismatches


def discrepancy_lines(cycle_count: CycleCount) -> list:
    """The count's lines with their discrepancies, largest first."""
    lines = list(cycle_count.lines.select_related("product"))
    return sorted(lines, key=lambda line: -abs(line.discrepancy or 0))
