"""Routing ("brokering") and fulfillment: rule sets, brokering runs, fulfillment
requests with their lines, shipments and invoices.

A fulfillment request is one order's lines at one location. Its lines count how much
of each order line the location holds (`quantity`), gave back (`quantity_rejected`),
shipped or handed over (`quantity_shipped`) and lost to a cancellation
(`quantity_withdrawn`); the order line's own quantities stay the source of truth.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django_fsm import FSMField, FSMModelMixin, transition

from orders.routing.engine import Rules, SortCriterion, SplitPolicy

MONEY = {"max_digits": 14, "decimal_places": 4}


class RoutingRuleSet(models.Model):
    """Rules as data: which queues a run takes, which locations may fulfil, how they
    are ranked, when an order may be split. An active rule set with a frequency is
    run by Celery beat (its `PeriodicTask` is kept in sync by the rule-set service)."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    queues = models.JSONField(default=list)
    location_types = models.JSONField(default=list, blank=True)
    require_can_ship = models.BooleanField(default=True)
    exclude_rejecting_locations = models.BooleanField(default=True)
    sort_criteria = models.JSONField(default=list)
    split_policy = models.CharField(
        max_length=20,
        choices=[(p.value, p.value.replace("_", " ")) for p in SplitPolicy],
        default=SplitPolicy.WHEN_NEEDED.value,
    )
    safety_stock_override = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Units kept back at every location; empty = each location's own.",
    )
    active = models.BooleanField(default=True)
    run_every_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty: started by hand only."
    )
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(split_policy__in=[p.value for p in SplitPolicy]),
                name="routing_rule_set_split_policy_valid",
            ),
            models.CheckConstraint(
                condition=Q(run_every_minutes__isnull=True)
                | Q(run_every_minutes__gt=0),
                name="routing_rule_set_frequency_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def engine_rules(self) -> Rules:
        return Rules(
            location_types=frozenset(self.location_types),
            require_can_ship=self.require_can_ship,
            exclude_rejecting_locations=self.exclude_rejecting_locations,
            sort_criteria=tuple(SortCriterion(c) for c in self.sort_criteria),
            split_policy=SplitPolicy(self.split_policy),
        )


class BrokeringRunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class BrokeringRun(FSMModelMixin, models.Model):
    """One pass of a rule set over its queues, with its progress and result."""

    Status = BrokeringRunStatus

    rule_set = models.ForeignKey(
        RoutingRuleSet, on_delete=models.PROTECT, related_name="runs"
    )
    status = FSMField(
        max_length=20, choices=Status.choices, default=Status.QUEUED, protected=True
    )
    orders_seen = models.PositiveIntegerField(default=0)
    orders_routed = models.PositiveIntegerField(default=0)
    orders_split = models.PositiveIntegerField(default=0)
    orders_unfillable = models.PositiveIntegerField(default=0)
    # Orders left in their queue because a reservation lost a race at commit time.
    orders_deferred = models.PositiveIntegerField(default=0)
    orders_total = models.PositiveIntegerField(
        default=0, help_text="Orders in the queues when the run started (progress)."
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(
        help_text="A queued or running run still here after this is abandoned (its "
        "worker died); the running task extends it with every batch."
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=BrokeringRunStatus.values),
                name="brokering_run_status_valid",
            )
        ]

    def __str__(self) -> str:
        return f"Run {self.pk} ({self.rule_set_id})"

    @transition(field=status, source=Status.QUEUED, target=Status.RUNNING)
    def start(self) -> None:
        pass

    @transition(field=status, source=Status.RUNNING, target=Status.COMPLETED)
    def complete(self) -> None:
        pass

    @transition(
        field=status, source=[Status.QUEUED, Status.RUNNING], target=Status.FAILED
    )
    def fail(self, error: str) -> None:
        self.error = error

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.COMPLETED:
            return 100
        if not self.orders_total:
            return 0
        return min(100, round(100 * self.orders_seen / self.orders_total))


class OrderRouting(models.Model):
    """An order's routing bookkeeping: the latest explanation (kept for orders that
    could not be placed) and the auto-cancel date of an unfillable order."""

    order = models.OneToOneField(
        "orders.Order",
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="routing",
    )
    explanation = models.JSONField(default=dict, blank=True)
    auto_cancel_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_run = models.ForeignKey(
        BrokeringRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Routing of order {self.order_id}"


class QueueSnapshot(models.Model):
    """The size of one queue at one moment, recorded every few minutes by beat
    (`routing.record_queue_sizes`) for the dashboard's queue-size chart."""

    taken_at = models.DateTimeField()
    queue = models.CharField(max_length=20)
    size = models.PositiveIntegerField()

    class Meta:
        ordering = ["taken_at", "queue"]
        constraints = [
            models.UniqueConstraint(
                fields=["taken_at", "queue"], name="queue_snapshot_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.queue} {self.size} at {self.taken_at:%Y-%m-%d %H:%M}"


class FulfillmentRequestStatus(models.TextChoices):
    ASSIGNED = "assigned", "Assigned"
    ACCEPTED = "accepted", "Accepted"
    PACKED = "packed", "Packed"
    READY_FOR_PICKUP = "ready_for_pickup", "Ready for pickup"
    COMPLETED = "completed", "Completed"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"
    NOT_COLLECTED = "not_collected", "Not collected"


ACTIVE_REQUEST_STATUSES = [
    FulfillmentRequestStatus.ASSIGNED,
    FulfillmentRequestStatus.ACCEPTED,
    FulfillmentRequestStatus.PACKED,
    FulfillmentRequestStatus.READY_FOR_PICKUP,
]


class FulfillmentRequest(FSMModelMixin, models.Model):
    """One order's lines at one location, from assignment to shipment or pickup."""

    Status = FulfillmentRequestStatus

    number = models.CharField(max_length=48, unique=True)
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, related_name="fulfillment_requests"
    )
    location = models.ForeignKey(
        "inventory.Location", on_delete=models.PROTECT, related_name="+"
    )
    status = FSMField(
        max_length=20, choices=Status.choices, default=Status.ASSIGNED, protected=True
    )
    is_pickup = models.BooleanField(default=False)
    brokering_run = models.ForeignKey(
        BrokeringRun,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="requests",
    )
    # Why this location: the engine's explanation at assignment time.
    explanation = models.JSONField(default=dict, blank=True)
    rejection_reason = models.CharField(max_length=500, blank=True)
    pickup_deadline = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=FulfillmentRequestStatus.values),
                name="fulfillment_request_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(is_pickup=True) | Q(pickup_deadline__isnull=True),
                name="fulfillment_request_deadline_only_for_pickup",
            ),
        ]
        indexes = [
            models.Index(fields=["location", "status", "id"], name="fr_location_idx"),
            models.Index(fields=["status", "id"], name="fr_status_idx"),
            models.Index(
                fields=["status", "pickup_deadline"], name="fr_pickup_deadline_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("fulfillment:request-detail", args=[self.pk])

    @transition(field=status, source=Status.ASSIGNED, target=Status.ACCEPTED)
    def accept(self) -> None:
        pass

    @transition(
        field=status,
        source=[Status.ASSIGNED, Status.ACCEPTED, Status.PACKED],
        target=Status.REJECTED,
    )
    def reject(self) -> None:
        pass

    @transition(field=status, source=Status.ACCEPTED, target=Status.PACKED)
    def pack(self) -> None:
        pass

    @transition(
        field=status,
        source=[Status.ACCEPTED, Status.PACKED],
        target=Status.COMPLETED,
        conditions=[lambda request: not request.is_pickup],
    )
    def ship(self) -> None:
        pass

    @transition(
        field=status,
        source=[Status.ACCEPTED, Status.PACKED],
        target=Status.READY_FOR_PICKUP,
        conditions=[lambda request: request.is_pickup],
    )
    def ready_for_pickup(self) -> None:
        pass

    @transition(field=status, source=Status.READY_FOR_PICKUP, target=Status.COMPLETED)
    def pick_up(self) -> None:
        pass

    @transition(
        field=status, source=Status.READY_FOR_PICKUP, target=Status.NOT_COLLECTED
    )
    def not_collected(self) -> None:
        pass

    @transition(field=status, source=ACTIVE_REQUEST_STATUSES, target=Status.WITHDRAWN)
    def withdraw(self) -> None:
        pass

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_REQUEST_STATUSES


class FulfillmentRequestLine(models.Model):
    request = models.ForeignKey(
        FulfillmentRequest, on_delete=models.CASCADE, related_name="lines"
    )
    order_line = models.ForeignKey(
        "orders.OrderLine", on_delete=models.PROTECT, related_name="request_lines"
    )
    quantity = models.PositiveIntegerField()
    quantity_rejected = models.PositiveIntegerField(default=0)
    quantity_shipped = models.PositiveIntegerField(default=0)
    quantity_withdrawn = models.PositiveIntegerField(default=0)
    rejection_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["request_id", "order_line_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="fr_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(
                    quantity__gte=F("quantity_rejected")
                    + F("quantity_shipped")
                    + F("quantity_withdrawn")
                ),
                name="fr_line_quantities_within_quantity",
            ),
            models.UniqueConstraint(
                fields=["request", "order_line"], name="fr_line_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.request_id}: line {self.order_line_id} × {self.quantity}"

    @property
    def quantity_pending(self) -> int:
        """Units the location still holds for this line."""
        return (
            self.quantity
            - self.quantity_rejected
            - self.quantity_shipped
            - self.quantity_withdrawn
        )


class Invoice(models.Model):
    """Issued when a request is packed (or, for a WMS that only confirms shipment,
    when it ships): what the location's parcel is worth."""

    number = models.CharField(max_length=60, unique=True)
    request = models.OneToOneField(
        FulfillmentRequest, on_delete=models.PROTECT, related_name="invoice"
    )
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(**MONEY)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="invoice_amount_not_negative"
            )
        ]

    def __str__(self) -> str:
        return self.number


class Shipment(models.Model):
    """What left a location (or was handed over at pickup), with the money captured
    for it."""

    request = models.ForeignKey(
        FulfillmentRequest, on_delete=models.PROTECT, related_name="shipments"
    )
    carrier = models.CharField(max_length=60, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    amount_captured = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    lines = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_captured__gte=0),
                name="shipment_amount_not_negative",
            )
        ]
        indexes = [
            # The global search by tracking number; the lead-time chart by date.
            models.Index(fields=["tracking_number"], name="shipment_tracking_idx"),
            models.Index(fields=["created_at"], name="shipment_created_idx"),
        ]

    def __str__(self) -> str:
        return f"Shipment {self.pk} of {self.request_id}"
