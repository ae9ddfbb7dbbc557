"""Returns (RMAs): items taken back against an order of this OMS, or blind for an
order that lives in an external system, with the checks that decided them.

A return is submitted `requested` and checked at once, in the same transaction:
`processed` (money and stock moved) or `failed` (nothing moved; the reasons are in
`checks`). A CSR may correct a failed return (extend its window with a comment) and
retry it: failed → requested → checked again.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Cast, Concat, LPad
from django.urls import reverse
from django_fsm import FSMField, FSMModelMixin, transition

from orders.models import OrderFlow

RMA_PREFIX = "RMA-"
MONEY = {"max_digits": 14, "decimal_places": 4, "default": Decimal("0")}


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    PROCESSED = "processed", "Processed"
    FAILED = "failed", "Failed"


class ReturnReason(models.TextChoices):
    DAMAGED = "damaged", "Arrived damaged"
    WRONG_ITEM = "wrong_item", "Wrong item sent"
    NOT_AS_DESCRIBED = "not_as_described", "Not as described"
    SIZE = "size", "Size or fit"
    CHANGED_MIND = "changed_mind", "Changed mind"
    OTHER = "other", "Other"


class ItemCondition(models.TextChoices):
    RESELLABLE = "resellable", "Resellable"
    DAMAGED = "damaged", "Damaged"


class ReturnWindow(models.Model):
    """A channel's return window for one order flow, replacing the channel's own
    `return_window_days` for orders whose type follows it (e.g. shorter for POS
    sales)."""

    channel = models.ForeignKey(
        "orders.Channel", on_delete=models.CASCADE, related_name="return_windows"
    )
    order_type = models.CharField(max_length=20, choices=OrderFlow.choices)
    days = models.PositiveIntegerField()

    class Meta:
        ordering = ["channel_id", "order_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "order_type"], name="return_window_per_order_type"
            ),
            models.CheckConstraint(
                condition=Q(order_type__in=OrderFlow.values),
                name="return_window_order_type_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel_id} {self.order_type}: {self.days} days"


class Return(FSMModelMixin, models.Model):
    Status = ReturnStatus

    # "RMA-00000042", derived from the id by the database (a stored generated
    # column), like the order number: unique with no counter to contend on.
    rma_number = models.GeneratedField(
        expression=Concat(
            Value(RMA_PREFIX), LPad(Cast("id", models.CharField()), 8, Value("0"))
        ),
        output_field=models.CharField(max_length=32),
        db_persist=True,
    )
    # Empty for a blind return (the order lives in an external system).
    order = models.ForeignKey(
        "orders.Order",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="returns",
    )
    channel = models.ForeignKey(
        "orders.Channel", on_delete=models.PROTECT, related_name="returns"
    )
    external_order_id = models.CharField(max_length=100, blank=True)
    external_return_id = models.CharField(max_length=100, blank=True)
    location = models.ForeignKey(
        "inventory.Location", on_delete=models.PROTECT, related_name="returns"
    )
    currency = models.CharField(max_length=3)
    status = FSMField(
        max_length=20,
        choices=Status.choices,
        default=Status.REQUESTED,
        protected=True,
    )
    # Each check and its result: [{"check", "subject", "passed", "detail"}].
    checks = models.JSONField(default=list, blank=True)
    # A CSR's correction: extra days on top of the channel's return window.
    window_extension_days = models.PositiveIntegerField(default=0)
    correction_comment = models.TextField(blank=True)
    total_refund_amount = models.DecimalField(**MONEY)
    # The returned value that pays for the replacement order instead of being
    # refunded (an exchange); the refund is only what is not exchanged.
    total_credit_amount = models.DecimalField(**MONEY)
    replacement_order = models.OneToOneField(
        "orders.Order",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replacement_for_return",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["rma_number"], name="return_rma_unique"),
            models.UniqueConstraint(
                fields=["channel", "external_return_id"],
                condition=~Q(external_return_id=""),
                name="return_external_id_per_channel",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ReturnStatus.values),
                name="return_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(order__isnull=False) | ~Q(external_order_id=""),
                name="return_order_or_external_order",
            ),
            models.CheckConstraint(
                condition=Q(total_refund_amount__gte=0),
                name="return_refund_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(total_credit_amount__gte=0),
                name="return_credit_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["status", "id"], name="return_status_idx")]

    def __str__(self) -> str:
        return self.rma_number

    def get_absolute_url(self) -> str:
        return reverse("returns:return-detail", args=[self.pk])

    @transition(field=status, source=Status.REQUESTED, target=Status.PROCESSED)
    def process(self) -> None:
        pass

    @transition(field=status, source=Status.REQUESTED, target=Status.FAILED)
    def fail(self) -> None:
        pass

    @transition(field=status, source=Status.FAILED, target=Status.REQUESTED)
    def retry(self) -> None:
        pass

    @property
    def is_blind(self) -> bool:
        return self.order_id is None

    @property
    def failed_checks(self) -> list[dict]:
        return [check for check in self.checks if not check["passed"]]


class ReturnLine(models.Model):
    """An item taken back (an order line, or for a blind return a SKU at a price),
    or the order's shipping cost given back with the last item."""

    class Type(models.TextChoices):
        ITEM = "item", "Item"
        SHIPPING = "shipping", "Shipping cost"

    Reason = ReturnReason
    Condition = ItemCondition

    return_request = models.ForeignKey(
        Return, on_delete=models.CASCADE, related_name="lines"
    )
    line_type = models.CharField(max_length=10, choices=Type.choices, default=Type.ITEM)
    order_line = models.ForeignKey(
        "orders.OrderLine",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="return_lines",
    )
    product = models.ForeignKey(
        "inventory.Product",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="return_lines",
    )
    sku = models.CharField(max_length=64, blank=True)
    quantity = models.PositiveIntegerField(default=0)
    # The price given for a blind return (the order's own amounts otherwise).
    unit_price = models.DecimalField(
        null=True, blank=True, max_digits=14, decimal_places=4
    )
    reason = models.CharField(max_length=20, choices=Reason.choices, blank=True)
    condition = models.CharField(max_length=20, choices=Condition.choices, blank=True)
    refund_amount = models.DecimalField(**MONEY)
    # Of this item's value, what pays for the replacement instead of a refund.
    credit_amount = models.DecimalField(**MONEY)
    restocked = models.BooleanField(default=False)
    # An exchange: what the customer gets instead (the same SKU by default).
    replacement_product = models.ForeignKey(
        "inventory.Product",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    replacement_sku = models.CharField(max_length=64, blank=True)
    replacement_quantity = models.PositiveIntegerField(default=0)
    replacement_unit_price = models.DecimalField(
        null=True, blank=True, max_digits=14, decimal_places=4
    )

    class Meta:
        ordering = ["return_request_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(line_type__in=["item", "shipping"]),
                name="return_line_type_valid",
            ),
            models.CheckConstraint(
                condition=(
                    Q(line_type="item")
                    & Q(quantity__gt=0)
                    & Q(product__isnull=False)
                    & ~Q(reason="")
                    & Q(condition__in=ItemCondition.values)
                )
                | (
                    Q(line_type="shipping")
                    & Q(product__isnull=True)
                    & Q(order_line__isnull=True)
                    & Q(quantity=0)
                ),
                name="return_line_item_or_shipping",
            ),
            models.CheckConstraint(
                condition=Q(refund_amount__gte=0),
                name="return_line_refund_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(credit_amount__gte=0),
                name="return_line_credit_not_negative",
            ),
            models.CheckConstraint(
                condition=(
                    Q(replacement_quantity=0)
                    & Q(replacement_product__isnull=True)
                    & Q(replacement_unit_price__isnull=True)
                )
                | (
                    Q(line_type="item")
                    & Q(replacement_quantity__gt=0)
                    & Q(replacement_quantity__lte=F("quantity"))
                    & Q(replacement_product__isnull=False)
                    & Q(replacement_unit_price__gte=0)
                ),
                name="return_line_replacement_complete",
            ),
            models.CheckConstraint(
                condition=Q(restocked=False) | Q(condition="resellable"),
                name="return_line_only_resellable_restocked",
            ),
        ]

    def __str__(self) -> str:
        if self.line_type == self.Type.SHIPPING:
            return f"{self.return_request_id} shipping"
        return f"{self.return_request_id} {self.sku} × {self.quantity}"

    @property
    def asks_replacement(self) -> bool:
        return self.replacement_quantity > 0
