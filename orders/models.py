"""Orders, their lines and the sales channels they come from.

Money is `Decimal` in the order's currency; a line's amounts are stored once, at intake
(or when a swap creates it). What each shipment, cancellation and return of its units
moves follows from the line's amounts and unit counts (`orders.refund_calculator`);
what was given back for its cancelled, swapped and returned units is kept in
`credited_amount`.
"""

from decimal import Decimal

from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Cast, Concat, LPad, Upper
from django.urls import reverse
from django.utils import timezone
from django_fsm import FSMField, FSMModelMixin, transition

NUMBER_PREFIX = "OMS-"
MONEY = {"max_digits": 14, "decimal_places": 4, "default": Decimal("0")}
# The largest amount the money columns hold (an order's total, a line's credit).
LARGEST_AMOUNT = Decimal(10) ** (MONEY["max_digits"] - MONEY["decimal_places"]) - (
    Decimal(1).scaleb(-MONEY["decimal_places"])
)


class Channel(models.Model):
    """Where orders come from (web shop, POS, marketplace) and the rules applied to
    them: grace period, approval limits, return window. Its payment provider is set
    in `settings.OMS_CHANNEL_PAYMENT_PROVIDER`, next to the providers' credentials."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    grace_period_minutes = models.PositiveIntegerField(default=15)
    order_value_limit = models.DecimalField(
        max_digits=14,
        decimal_places=4,
        null=True,
        blank=True,
        help_text=(
            "Orders worth more than this (their total less what was cancelled) are "
            "held for review; empty = no limit."
        ),
    )
    blocked_emails = models.JSONField(default=list, blank=True)
    blocked_domains = models.JSONField(default=list, blank=True)
    fraud_score_limit = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Orders whose fraud score is above this are held; empty = no check.",
    )
    return_window_days = models.PositiveIntegerField(default=30)
    refund_shipping_on_last_return = models.BooleanField(default=True)
    auto_cancel_days = models.PositiveIntegerField(default=7)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class OrderStatus(models.TextChoices):
    CREATED = "created", "Created"
    OPENED = "opened", "Opened"
    ON_HOLD = "on_hold", "On hold"
    IN_FULFILLMENT = "in_fulfillment", "In fulfillment"
    COMPLETED = "completed", "Completed"
    RETURNED = "returned", "Returned"
    CANCELLED = "cancelled", "Cancelled"


class OrderQueue(models.TextChoices):
    NONE = "", "Not queued"
    BROKERING = "brokering", "Brokering"
    UNFILLABLE = "unfillable", "Unfillable"
    UNFILLABLE_HOLD = "unfillable_hold", "Unfillable (hold)"
    PRE_ORDER = "pre_order", "Pre-order"
    BACKORDER = "backorder", "Backorder"
    REJECTED = "rejected", "Rejected"
    BOPIS_REJECTED = "bopis_rejected", "BOPIS rejected"


class OrderFlow(models.TextChoices):
    """The lifecycles written in code; every order type follows one of them."""

    STANDARD = "standard", "Standard"
    BOPIS = "bopis", "Buy online, pick up in store"
    PRE_ORDER = "pre_order", "Pre-order"
    BACKORDER = "backorder", "Backorder"
    POS = "pos", "Point of sale"
    REPLACEMENT = "replacement", "Replacement"


class Order(FSMModelMixin, models.Model):
    Status = OrderStatus
    Queue = OrderQueue
    Flow = OrderFlow

    # "OMS-00000042", derived from the id by the database itself (a stored generated
    # column): unique and human, with no second write and no counter to contend on.
    number = models.GeneratedField(
        expression=Concat(
            Value(NUMBER_PREFIX), LPad(Cast("id", models.CharField()), 8, Value("0"))
        ),
        output_field=models.CharField(max_length=32),
        db_persist=True,
    )
    channel = models.ForeignKey(
        Channel, on_delete=models.PROTECT, related_name="orders"
    )
    external_id = models.CharField(max_length=100)
    # The retailer's order type (its code, in the `order_type` column); the code
    # branches on the type's `flow`.
    order_type = models.ForeignKey(
        "orders.OrderTypeDefinition",
        to_field="code",
        db_column="order_type",
        db_index=False,
        on_delete=models.PROTECT,
        related_name="orders",
        default=OrderFlow.STANDARD.value,
    )
    status = FSMField(
        max_length=20, choices=Status.choices, default=Status.CREATED, protected=True
    )
    queue = models.CharField(
        max_length=20, choices=Queue.choices, default=Queue.NONE, blank=True
    )
    customer_name = models.CharField(max_length=200, blank=True)
    customer_email = models.EmailField(blank=True)
    customer_phone = models.CharField(max_length=40, blank=True)
    shipping_address = models.JSONField(default=dict, blank=True)
    # The store of a BOPIS pickup, or the store that sold a POS order.
    pickup_location = models.ForeignKey(
        "inventory.Location",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="pickup_orders",
    )
    currency = models.CharField(max_length=3)
    shipping_method = models.CharField(max_length=60, blank=True)
    shipping_price = models.DecimalField(**MONEY)
    shipping_tax = models.DecimalField(**MONEY)
    # Order-level discount, spread over the lines at intake (`order_discount_share`).
    discount = models.DecimalField(**MONEY)
    total = models.DecimalField(**MONEY)
    shipping_credited = models.DecimalField(**MONEY)
    # The part of the total paid by the value of items the customer returned (a
    # replacement order): never authorized nor captured on a payment account.
    exchange_credit = models.DecimalField(**MONEY)
    # The order whose returned items a replacement order replaces (its exchange
    # credit is still captured on that order's payment).
    replacement_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replacements",
    )
    tags = models.JSONField(default=list, blank=True)
    # 0 (normal) to 9; set by people or by workflow steps (`set_field`).
    priority = models.PositiveSmallIntegerField(default=0)
    fraud_score = models.DecimalField(
        max_digits=6, decimal_places=2, null=True, blank=True
    )
    placed_at = models.DateTimeField()
    promise_date = models.DateField(null=True, blank=True)
    grace_period_ends_at = models.DateTimeField()
    hold_reasons = models.JSONField(default=list, blank=True)
    # The hold came from the approval rules only, so the periodic re-check lifts it
    # once they pass; a hold for review or after a failed re-authorization waits
    # for a CSR.
    held_by_rules = models.BooleanField(default=False, db_default=False)
    notes = models.TextField(blank=True)
    # SHA-256 of the intake body: a repeat with the same external id and body is
    # answered with this order, one with another body is refused.
    intake_fingerprint = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["number"], name="order_number_unique"),
            models.UniqueConstraint(
                fields=["channel", "external_id"], name="order_external_id_per_channel"
            ),
            models.CheckConstraint(
                condition=Q(status__in=OrderStatus.values),
                name="order_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(queue__in=OrderQueue.values),
                name="order_queue_valid",
            ),
            models.CheckConstraint(
                condition=Q(priority__lte=9), name="order_priority_range"
            ),
            models.CheckConstraint(
                condition=Q(shipping_price__gte=0)
                & Q(shipping_tax__gte=0)
                & Q(discount__gte=0)
                & Q(total__gte=0),
                name="order_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(shipping_credited__gte=0)
                & Q(shipping_credited__lte=F("shipping_price") + F("shipping_tax")),
                name="order_shipping_credited_within_shipping",
            ),
            models.CheckConstraint(
                condition=Q(exchange_credit__gte=0)
                & Q(exchange_credit__lte=F("total")),
                name="order_exchange_credit_within_total",
            ),
        ]
        # The list shows newest first (`-id`); each filter has an index that
        # hands its rows over in that order, so a page stops after 50 rows.
        indexes = [
            models.Index(
                fields=["status", "grace_period_ends_at"], name="order_due_idx"
            ),
            models.Index(fields=["status", "id"], name="order_status_idx"),
            models.Index(fields=["queue", "id"], name="order_queue_idx"),
            models.Index(fields=["order_type", "id"], name="order_type_idx"),
            models.Index(fields=["channel", "id"], name="order_channel_idx"),
            models.Index(
                fields=["pickup_location", "id"],
                name="order_location_idx",
                condition=Q(pickup_location__isnull=False),
            ),
            models.Index(Upper("customer_email"), name="order_email_upper_idx"),
            models.Index(fields=["external_id"], name="order_external_id_idx"),
            # Also covers the dashboard's orders-per-day charts (index-only scans;
            # key columns rather than INCLUDE, which SQLite lacks).
            models.Index(
                fields=["placed_at", "status", "channel"], name="order_placed_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("orders:order-detail", args=[self.number])

    # Transitions: pure, guards only. Services call them through apply_transition.
    @transition(field=status, source=Status.CREATED, target=Status.OPENED)
    def open(self) -> None:
        self.hold_reasons = []

    @transition(
        field=status, source=[Status.CREATED, Status.OPENED], target=Status.ON_HOLD
    )
    def hold(self, reasons: list[str]) -> None:
        # Out of every queue: routing never takes a held order.
        self.hold_reasons = reasons
        self.queue = OrderQueue.NONE

    @transition(field=status, source=Status.ON_HOLD, target=Status.OPENED)
    def approve(self) -> None:
        self.hold_reasons = []
        self.held_by_rules = False

    @transition(field=status, source=Status.OPENED, target=Status.IN_FULFILLMENT)
    def start_fulfillment(self) -> None:
        pass

    @transition(
        field=status,
        source=[Status.CREATED, Status.OPENED, Status.IN_FULFILLMENT],
        target=Status.COMPLETED,
    )
    def complete(self) -> None:
        self.queue = Order.Queue.NONE

    @transition(field=status, source=Status.COMPLETED, target=Status.RETURNED)
    def mark_returned(self) -> None:
        pass

    @transition(
        field=status,
        source=[Status.CREATED, Status.OPENED, Status.ON_HOLD, Status.IN_FULFILLMENT],
        target=Status.CANCELLED,
    )
    def cancel(self) -> None:
        self.queue = Order.Queue.NONE

    @property
    def routing_queue(self) -> str:
        """Where the order waits once approved: pre-orders and backorders in their
        parkings, everything else in the brokering queue."""
        return {
            OrderFlow.PRE_ORDER: OrderQueue.PRE_ORDER,
            OrderFlow.BACKORDER: OrderQueue.BACKORDER,
        }.get(self.flow, OrderQueue.BROKERING)

    @property
    def flow(self) -> str:
        """The lifecycle the order's type follows (from the cached workflow
        configuration: no query)."""
        from orders.workflows.config import order_type_spec

        return order_type_spec(self.order_type_id).flow

    @property
    def order_type_name(self) -> str:
        from orders.workflows.config import order_type_spec

        return order_type_spec(self.order_type_id).name

    @property
    def in_grace_period(self) -> bool:
        return (
            self.status == Order.Status.CREATED
            and self.grace_period_ends_at > timezone.now()
        )

    @property
    def shipping_total(self) -> Decimal:
        return self.shipping_price + self.shipping_tax

    @property
    def amount_to_pay(self) -> Decimal:
        """What the customer's payment must cover: the total less what returned
        items already paid (a replacement order)."""
        return self.total - self.exchange_credit


class OrderLine(models.Model):
    """One SKU of an order. Its quantity is always split exactly into the states
    open, allocated, fulfilled, cancelled and returned (database CHECK)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ALLOCATED = "allocated", "Allocated"
        FULFILLED = "fulfilled", "Fulfilled"
        CANCELLED = "cancelled", "Cancelled"
        RETURNED = "returned", "Returned"
        MIXED = "mixed", "Partly in several states"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    product = models.ForeignKey(
        "inventory.Product", on_delete=models.PROTECT, related_name="order_lines"
    )
    sku = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(**MONEY)
    # Line-level discount and tax, for the whole quantity.
    discount = models.DecimalField(**MONEY)
    order_discount_share = models.DecimalField(**MONEY)
    tax = models.DecimalField(**MONEY)
    quantity_open = models.PositiveIntegerField(default=0)
    quantity_allocated = models.PositiveIntegerField(default=0)
    quantity_fulfilled = models.PositiveIntegerField(default=0)
    quantity_cancelled = models.PositiveIntegerField(default=0)
    quantity_returned = models.PositiveIntegerField(default=0)
    # Voided or refunded for this line's cancelled/returned/swapped units.
    credited_amount = models.DecimalField(**MONEY)
    # Sold as final sale: not returnable (the order-level `final_sale` tag makes
    # every line so).
    final_sale = models.BooleanField(default=False)
    swapped_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="swapped_to",
    )

    class Meta:
        ordering = ["order_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "position"], name="order_line_position_unique"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="order_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(
                    quantity=F("quantity_open")
                    + F("quantity_allocated")
                    + F("quantity_fulfilled")
                    + F("quantity_cancelled")
                    + F("quantity_returned")
                ),
                name="order_line_quantities_add_up",
            ),
            models.CheckConstraint(
                condition=Q(quantity_open__gte=0)
                & Q(quantity_allocated__gte=0)
                & Q(quantity_fulfilled__gte=0)
                & Q(quantity_cancelled__gte=0)
                & Q(quantity_returned__gte=0),
                name="order_line_quantities_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0)
                & Q(discount__gte=0)
                & Q(order_discount_share__gte=0)
                & Q(tax__gte=0)
                & Q(credited_amount__gte=0),
                name="order_line_amounts_not_negative",
            ),
        ]
        # (sku, order): the search by SKU finds the orders without reading lines.
        indexes = [models.Index(fields=["sku", "order"], name="order_line_sku_idx")]

    def __str__(self) -> str:
        return f"{self.order_id}#{self.position} {self.sku} × {self.quantity}"

    @property
    def status(self) -> str:
        """The single state holding all the units, or `mixed`."""
        held = [
            (state, count)
            for state, count in (
                (self.Status.OPEN, self.quantity_open),
                (self.Status.ALLOCATED, self.quantity_allocated),
                (self.Status.FULFILLED, self.quantity_fulfilled),
                (self.Status.CANCELLED, self.quantity_cancelled),
                (self.Status.RETURNED, self.quantity_returned),
            )
            if count
        ]
        return held[0][0] if len(held) == 1 else self.Status.MIXED

    @property
    def quantity_cancellable(self) -> int:
        """Units not shipped yet: what a cancellation may still take."""
        return self.quantity_open + self.quantity_allocated


from orders.routing.models import (  # noqa: E402, F401  (routing models live in orders/routing/)
    BrokeringRun,
    FulfillmentRequest,
    FulfillmentRequestLine,
    Invoice,
    OrderRouting,
    RoutingRuleSet,
    Shipment,
)
from orders.workflows.models import (  # noqa: E402, F401  (workflow models live in orders/workflows/)
    OrderTypeDefinition,
    WorkflowStep,
    WorkflowStepGroup,
    WorkflowStepRun,
)
