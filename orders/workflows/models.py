"""Configurable workflows: order types as data, and the steps that run when an
order enters a stage of its lifecycle.

The lifecycle itself (django-fsm on `Order`) stays in code; these tables say what
runs around it. The order services call `orders.workflows.runner.run_stage` after
each transition, explicitly (no signals).
"""

from django.db import models
from django.db.models import Q

from orders.models import OrderFlow, OrderStatus


class WorkflowStage(models.TextChoices):
    """Where steps can hang: the order statuses, plus the two fulfillment
    milestones a customer hears about (a shipment left, a pickup is waiting).
    Declared in lifecycle order, the order of the chart's columns."""

    CREATED = OrderStatus.CREATED.value, "Created"
    OPENED = OrderStatus.OPENED.value, "Opened"
    ON_HOLD = OrderStatus.ON_HOLD.value, "On hold"
    IN_FULFILLMENT = OrderStatus.IN_FULFILLMENT.value, "In fulfillment"
    SHIPPED = "shipped", "Shipped"
    READY_FOR_PICKUP = "ready_for_pickup", "Ready for pickup"
    COMPLETED = OrderStatus.COMPLETED.value, "Completed"
    CANCELLED = OrderStatus.CANCELLED.value, "Cancelled"


class OrderTypeDefinition(models.Model):
    """An order type as retailers configure it: a code orders carry in
    `Order.order_type` (a foreign key to it), the lifecycle flow it follows in
    code, and the stages it goes through (the chart's columns). Intake takes
    orders of active types only."""

    Flow = OrderFlow

    code = models.SlugField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    flow = models.CharField(max_length=20, choices=Flow.choices)
    stages = models.JSONField(default=list, blank=True)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = "order type"
        constraints = [
            models.CheckConstraint(
                condition=Q(flow__in=OrderFlow.values), name="order_type_flow_valid"
            )
        ]

    def __str__(self) -> str:
        return self.name


class WorkflowStepGroup(models.Model):
    """A named, reusable list of steps, run by any step whose action is
    `run_group`. With `stop_on_error`, a member's error skips the rest of the
    group (and the group's result is that error)."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    stop_on_error = models.BooleanField(default=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class WorkflowStep(models.Model):
    """One step: either for an order type and a stage, or a member of a group."""

    class Timing(models.TextChoices):
        SYNC = "sync", "In the transition (rolls back with it)"
        ASYNC = "async", "After commit (Celery, retried)"

    class Condition(models.TextChoices):
        ALWAYS = "always", "Always"
        ALL_SUCCEEDED = "all_succeeded", "If the earlier steps succeeded"
        ANY_WARNING = "any_warning", "If an earlier step warned"
        ANY_ERROR = "any_error", "If an earlier step failed"

    order_type = models.ForeignKey(
        OrderTypeDefinition,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="steps",
    )
    stage = models.CharField(max_length=20, choices=WorkflowStage.choices, blank=True)
    group = models.ForeignKey(
        WorkflowStepGroup,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="steps",
        help_text="The group this step is a member of.",
    )
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=100)
    action = models.CharField(max_length=40)
    params = models.JSONField(default=dict, blank=True)
    runs_group = models.ForeignKey(
        WorkflowStepGroup,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referenced_by",
        help_text="The group a `run_group` step runs.",
    )
    active = models.BooleanField(default=True)
    stop_on_error = models.BooleanField(default=False)
    timing = models.CharField(
        max_length=10, choices=Timing.choices, default=Timing.ASYNC
    )
    condition = models.CharField(
        max_length=20, choices=Condition.choices, default=Condition.ALWAYS
    )
    # {"channels": [...], "locations": [...], "shipping_methods": [...], "tags": [...]}
    enabled_for = models.JSONField(default=dict, blank=True)
    disabled_for = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(order_type__isnull=False, group__isnull=True) & ~Q(stage="")
                )
                | Q(order_type__isnull=True, group__isnull=False, stage=""),
                name="workflow_step_owner_valid",
            ),
            models.CheckConstraint(
                condition=Q(stage__in=[*WorkflowStage.values, ""]),
                name="workflow_step_stage_valid",
            ),
            models.CheckConstraint(
                condition=Q(timing__in=["sync", "async"]),
                name="workflow_step_timing_valid",
            ),
            models.CheckConstraint(
                condition=Q(
                    condition__in=[
                        "always",
                        "all_succeeded",
                        "any_warning",
                        "any_error",
                    ]
                ),
                name="workflow_step_condition_valid",
            ),
            models.CheckConstraint(
                condition=Q(action="run_group", runs_group__isnull=False)
                | (~Q(action="run_group") & Q(runs_group__isnull=True)),
                name="workflow_step_group_reference_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["order_type", "stage", "position"], name="workflow_step_idx"
            )
        ]

    def __str__(self) -> str:
        return self.name


# Module-level names for the API schema's enum overrides (oms/settings.py).
StepCondition = WorkflowStep.Condition


class StepResult(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCESS = "success", "Success"
    WARNING = "warning", "Warning"
    ERROR = "error", "Error"
    RETRYING = "retrying", "Failed, retrying"


class WorkflowStepRun(models.Model):
    """One run of one step for one order: the record behind the timeline and the
    retry button. An asynchronous step is `pending` from the transition's own
    transaction until a worker claims and runs it (`next_attempt_at` says when the
    sweep takes it, should the task be lost); one that failed is `retrying` until
    its attempts are spent (`next_attempt_at` says when), then `error`."""

    Result = StepResult

    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="workflow_runs"
    )
    stage = models.CharField(max_length=20, choices=WorkflowStage.choices)
    step = models.ForeignKey(
        WorkflowStep,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="runs",
    )
    step_name = models.CharField(max_length=100)
    action = models.CharField(max_length=40)
    timing = models.CharField(max_length=10, choices=WorkflowStep.Timing.choices)
    result = models.CharField(max_length=10, choices=StepResult.choices)
    message = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=1)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # The results of the steps before this one (comma-separated), for the steps
    # after it when a retry succeeds and the run goes on.
    prior_results = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(result__in=StepResult.values),
                name="workflow_step_run_result_valid",
            )
        ]
        indexes = [
            models.Index(fields=["order", "id"], name="workflow_run_order_idx"),
            models.Index(
                fields=["next_attempt_at"],
                name="workflow_run_due_idx",
                condition=Q(result__in=["pending", "retrying"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.step_name} on {self.order_id}: {self.result}"
