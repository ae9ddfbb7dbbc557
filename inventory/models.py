"""Stock truth for every store and DC.

Quantities are whole units (integers). `StockLevel.on_hand` changes only through the
ledger (`inventory.services.ledger_post`), which writes an `InventoryTransaction` row in
the same transaction; `reserved` changes only through the reservation services.
Coordinates are `Decimal` degrees with six places (about 0.1 m), NULL when unknown.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django_fsm import FSMField, FSMModelMixin, transition


def _status_check(
    name: str, choices: type[models.TextChoices]
) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(status__in=choices.values), name=f"{name}_status_valid"
    )


class Product(models.Model):
    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    barcode = models.CharField(max_length=64, blank=True, db_index=True)
    active = models.BooleanField(default=True)
    attributes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(condition=~Q(sku=""), name="product_sku_not_blank")
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class Location(models.Model):
    class Type(models.TextChoices):
        STORE = "store", "Store"
        DC = "dc", "Distribution centre"

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=10, choices=Type.choices)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    latitude = models.DecimalField(
        max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        max_digits=9, decimal_places=6, null=True, blank=True
    )
    can_ship = models.BooleanField(default=True)
    can_pickup = models.BooleanField(default=False)
    routing_priority = models.PositiveIntegerField(
        default=100, help_text="Lower is preferred by routing."
    )
    safety_stock = models.PositiveIntegerField(
        default=0, help_text="Units per product kept back from `available`."
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["routing_priority", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(type__in=["store", "dc"]), name="location_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True)
                | Q(latitude__gte=-90, latitude__lte=90),
                name="location_latitude_range",
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True)
                | Q(longitude__gte=-180, longitude__lte=180),
                name="location_longitude_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class StaffLocation(models.Model):
    """Binds a store associate to a location they work at (one user, many)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="staff_locations",
    )
    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, related_name="staff_assignments"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "location"], name="staff_location_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.location_id}"


LocationAssignment = StaffLocation


class StockLevel(models.Model):
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["location", "product"], name="stock_level_unique"
            ),
            models.CheckConstraint(
                condition=Q(on_hand__gte=0), name="stock_on_hand_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(reserved__gte=0, reserved__lte=models.F("on_hand")),
                name="stock_reserved_within_on_hand",
            ),
        ]
        indexes = [
            models.Index(fields=["product", "location"], name="stock_product_idx")
        ]

    def __str__(self) -> str:
        return f"{self.location_id}/{self.product_id}: {self.on_hand}-{self.reserved}"

    @property
    def available(self) -> int:
        """on_hand - reserved - the location's safety stock, never below 0 (an
        `available` annotation from the selectors wins when present)."""
        annotated = self.__dict__.get("available_units")
        if annotated is not None:
            return max(annotated, 0)
        return max(self.on_hand - self.reserved - self.location.safety_stock, 0)


class Reservation(models.Model):
    """Units held for an owner (an order line, a transfer order, ...), known only by
    a plain reference. Partly released or consumed rows shrink; empty rows go."""

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    owner_type = models.CharField(max_length=40)
    owner_id = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="reservation_quantity_positive"
            )
        ]
        indexes = [
            models.Index(
                fields=["owner_type", "owner_id"], name="reservation_owner_idx"
            ),
            models.Index(fields=["location", "product"], name="reservation_stock_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.owner_type}:{self.owner_id} {self.quantity}×{self.product_id}"


class InventoryTransaction(models.Model):
    """The append-only stock ledger: one row per change of `on_hand`.

    For every stock level, `on_hand == sum(quantity)` of its rows
    (`python manage.py check_stock`)."""

    class Type(models.TextChoices):
        RECEIPT = "receipt", "Receipt"
        ADJUSTMENT = "adjustment", "Adjustment"
        TRANSFER_OUT = "transfer_out", "Transfer out"
        TRANSFER_IN = "transfer_in", "Transfer in"
        SHIPMENT = "shipment", "Shipment"
        RETURN_RESTOCK = "return_restock", "Return restock"
        COUNT_ADJUSTMENT = "count_adjustment", "Count adjustment"

    class Reason(models.TextChoices):
        DAMAGED = "damaged", "Damaged"
        LOST = "lost", "Lost"
        FOUND = "found", "Found"
        CORRECTION = "correction", "Correction"
        SYNC = "sync", "ERP stock sync"

    type = models.CharField(max_length=20, choices=Type.choices)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.IntegerField(help_text="Change of on_hand (negative: out).")
    on_hand_after = models.IntegerField()
    reference = models.CharField(max_length=100, blank=True, db_index=True)
    reason = models.CharField(max_length=20, blank=True, choices=Reason.choices)
    note = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    event_entity_type = "inventory_transaction"

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    type__in=[
                        "receipt",
                        "adjustment",
                        "transfer_out",
                        "transfer_in",
                        "shipment",
                        "return_restock",
                        "count_adjustment",
                    ]
                ),
                name="ledger_type_valid",
            ),
            models.CheckConstraint(
                condition=~Q(quantity=0), name="ledger_quantity_not_zero"
            ),
            models.CheckConstraint(
                condition=Q(on_hand_after__gte=0),
                name="ledger_on_hand_after_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["location", "product", "id"], name="ledger_stock_idx"),
            models.Index(fields=["product", "id"], name="ledger_product_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.quantity:+d} {self.product_id}@{self.location_id}"


class Receipt(models.Model):
    """Units received at a location against an ASN, a purchase order or a
    transfer order."""

    class ReferenceType(models.TextChoices):
        ASN = "asn", "ASN"
        PURCHASE_ORDER = "purchase_order", "Purchase order"
        TRANSFER_ORDER = "transfer_order", "Transfer order"

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    reference_type = models.CharField(max_length=20, choices=ReferenceType.choices)
    reference = models.CharField(max_length=100)
    asn = models.ForeignKey(
        "Asn", null=True, blank=True, on_delete=models.PROTECT, related_name="receipts"
    )
    transfer_order = models.ForeignKey(
        "TransferOrder",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="receipts",
    )
    over_receipt = models.BooleanField(default=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    reference_type__in=["asn", "purchase_order", "transfer_order"]
                ),
                name="receipt_reference_type_valid",
            )
        ]

    def __str__(self) -> str:
        return f"Receipt {self.pk} ({self.reference_type} {self.reference})"


class ReceiptLine(models.Model):
    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="receipt_line_quantity_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.quantity}× {self.product_id}"


class AsnStatus(models.TextChoices):
    OPEN = "open", "Open"
    RECEIVED = "received", "Received"
    CLOSED = "closed", "Closed"


class Asn(FSMModelMixin, models.Model):
    """Advance shipping notice: units announced for a location.

    Fully received ASNs close themselves when `auto_close` is set; otherwise they
    wait in `received` for someone to close them."""

    Status = AsnStatus

    number = models.CharField(max_length=50, unique=True)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    supplier = models.CharField(max_length=200, blank=True)
    transfer_order = models.OneToOneField(
        "TransferOrder",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="asn",
    )
    expected_at = models.DateField(null=True, blank=True)
    auto_close = models.BooleanField(default=True)
    status = FSMField(
        max_length=20, choices=Status.choices, default=Status.OPEN, protected=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "ASN"
        constraints = [_status_check("asn", AsnStatus)]

    def __str__(self) -> str:
        return self.number

    @transition(field=status, source=Status.OPEN, target=Status.RECEIVED)
    def mark_received(self) -> None:
        pass

    @transition(
        field=status, source=[Status.OPEN, Status.RECEIVED], target=Status.CLOSED
    )
    def close(self) -> None:
        pass


class AsnLine(models.Model):
    asn = models.ForeignKey(Asn, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    expected_quantity = models.PositiveIntegerField()
    received_quantity = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["asn", "product"], name="asn_line_unique"),
            models.CheckConstraint(
                condition=Q(expected_quantity__gt=0), name="asn_line_expected_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.received_quantity}/{self.expected_quantity}"

    @property
    def outstanding(self) -> int:
        return max(self.expected_quantity - self.received_quantity, 0)


class TransferOrderStatus(models.TextChoices):
    OPEN = "open", "Open"
    SHIPPED = "shipped", "Shipped"
    PARTIALLY_RECEIVED = "partially_received", "Partially received"
    RECEIVED = "received", "Received"
    CLOSED = "closed", "Closed"


class TransferOrder(FSMModelMixin, models.Model):
    """Units moved from one location to another.

    Creating it reserves what the origin has available (up to the request); shipping
    takes the units out of the origin; receiving puts them into the destination;
    closing releases what is still reserved and cancels what was never shipped."""

    Status = TransferOrderStatus

    number = models.CharField(max_length=50, unique=True)
    origin = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    destination = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="+"
    )
    expected_at = models.DateField(
        null=True, blank=True, help_text="Date by which the units should have arrived."
    )
    status = FSMField(
        max_length=20, choices=Status.choices, default=Status.OPEN, protected=True
    )
    carrier = models.CharField(max_length=100, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            _status_check("transfer_order", TransferOrderStatus),
            models.CheckConstraint(
                condition=~Q(origin=models.F("destination")),
                name="transfer_order_distinct_locations",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def reservation_owner_id(self) -> str:
        return str(self.pk)

    @transition(field=status, source=Status.OPEN, target=Status.SHIPPED)
    def ship(self) -> None:
        pass

    @transition(
        field=status,
        source=[Status.SHIPPED, Status.PARTIALLY_RECEIVED],
        target=Status.PARTIALLY_RECEIVED,
    )
    def receive_partly(self) -> None:
        pass

    @transition(
        field=status,
        source=[Status.SHIPPED, Status.PARTIALLY_RECEIVED],
        target=Status.RECEIVED,
    )
    def receive_fully(self) -> None:
        pass

    @transition(
        field=status,
        source=[
            Status.OPEN,
            Status.SHIPPED,
            Status.PARTIALLY_RECEIVED,
            Status.RECEIVED,
        ],
        target=Status.CLOSED,
    )
    def close(self) -> None:
        pass


class TransferOrderLine(models.Model):
    transfer_order = models.ForeignKey(
        TransferOrder, on_delete=models.CASCADE, related_name="lines"
    )
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    requested_quantity = models.PositiveIntegerField()
    shipped_quantity = models.PositiveIntegerField(default=0)
    received_quantity = models.PositiveIntegerField(default=0)
    cancelled_quantity = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["transfer_order", "product"], name="transfer_order_line_unique"
            ),
            models.CheckConstraint(
                condition=Q(requested_quantity__gt=0),
                name="transfer_order_line_requested_positive",
            ),
            models.CheckConstraint(
                condition=Q(
                    shipped_quantity__lte=models.F("requested_quantity"),
                    received_quantity__lte=models.F("shipped_quantity"),
                ),
                name="transfer_order_line_quantities_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.requested_quantity}"

    @property
    def in_transit(self) -> int:
        return self.shipped_quantity - self.received_quantity


class CycleCountStatus(models.TextChoices):
    OPEN = "open", "Open"
    COUNTED = "counted", "Counted (awaiting review)"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class CycleCount(FSMModelMixin, models.Model):
    """A count of some products at one location.

    Discrepancies are measured against the ledger's on_hand at the moment of
    counting (`counted_at`, by default the submission), and approval posts that
    difference on top of the live stock, so movements before or after the count are
    neither lost nor counted twice."""

    Status = CycleCountStatus

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    status = FSMField(
        max_length=20, choices=Status.choices, default=Status.OPEN, protected=True
    )
    recount_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="recount"
    )
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    counted_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)

    event_entity_type = "inventory_count"

    class Meta:
        constraints = [_status_check("cycle_count", CycleCountStatus)]

    def __str__(self) -> str:
        return f"Count {self.pk} at {self.location_id}"

    @transition(field=status, source=Status.OPEN, target=Status.COUNTED)
    def submit(self) -> None:
        pass

    @transition(field=status, source=Status.COUNTED, target=Status.APPROVED)
    def approve(self) -> None:
        pass

    @transition(field=status, source=Status.COUNTED, target=Status.REJECTED)
    def reject(self) -> None:
        pass


class CycleCountLine(models.Model):
    cycle_count = models.ForeignKey(
        CycleCount, on_delete=models.CASCADE, related_name="lines"
    )
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    counted_quantity = models.PositiveIntegerField(null=True, blank=True)
    expected_quantity = models.IntegerField(
        null=True, blank=True, help_text="on_hand at the moment of counting."
    )

    class Meta:
        ordering = ["product__sku"]
        constraints = [
            models.UniqueConstraint(
                fields=["cycle_count", "product"], name="cycle_count_line_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.counted_quantity}"

    @property
    def discrepancy(self) -> int | None:
        if self.counted_quantity is None or self.expected_quantity is None:
            return None
        return self.counted_quantity - self.expected_quantity


class StockSync(models.Model):
    """One full-stock upload from an ERP and its report."""

    MAX_REJECTED_KEPT = 1000

    source = models.CharField(max_length=200, blank=True)
    rows_total = models.PositiveIntegerField(default=0)
    rows_changed = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    rejected = models.JSONField(
        default=list, blank=True, help_text="The first rejected rows: line, row, error."
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Sync {self.pk} ({self.rows_total} rows)"
