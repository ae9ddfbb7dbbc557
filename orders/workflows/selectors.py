"""Read queries of the workflow configuration and of step runs, shared by the API
and the pages."""

from django.db.models import QuerySet

from oms.errors import NotFound
from orders.models import Order
from orders.workflows.models import (
    OrderTypeDefinition,
    StepResult,
    WorkflowStage,
    WorkflowStep,
    WorkflowStepGroup,
    WorkflowStepRun,
)


def order_type_list() -> QuerySet[OrderTypeDefinition]:
    return OrderTypeDefinition.objects.order_by("code")


def order_type_get(*, code: str) -> OrderTypeDefinition:
    order_type = OrderTypeDefinition.objects.filter(code=code).first()
    if order_type is None:
        raise NotFound(f"No order type {code!r}.")
    return order_type


def step_list(*, order_type: str = "", stage: str = "", group: str = "") -> QuerySet:
    steps = WorkflowStep.objects.select_related(
        "order_type", "group", "runs_group"
    ).order_by("order_type__code", "stage", "group__code", "position", "id")
    if order_type:
        steps = steps.filter(order_type__code=order_type)
    if stage:
        steps = steps.filter(stage=stage)
    if group:
        steps = steps.filter(group__code=group)
    return steps


def step_get(*, pk: int) -> WorkflowStep:
    step = step_list().filter(pk=pk).first()
    if step is None:
        raise NotFound(f"No workflow step {pk}.")
    return step


def group_list() -> QuerySet[WorkflowStepGroup]:
    return WorkflowStepGroup.objects.prefetch_related("steps").order_by("code")


def group_get(*, code: str) -> WorkflowStepGroup:
    group = WorkflowStepGroup.objects.filter(code=code).first()
    if group is None:
        raise NotFound(f"No step group {code!r}.")
    return group


def workflow_chart(*, order_type: OrderTypeDefinition) -> list[dict]:
    """The chart of one order type: its stages in lifecycle order, each with its
    steps in running order (inactive ones included, marked)."""
    steps = list(step_list(order_type=order_type.code))
    stages = [stage for stage in WorkflowStage if stage.value in order_type.stages]
    return [
        {
            "stage": stage.value,
            "label": stage.label,
            "steps": [step for step in steps if step.stage == stage.value],
        }
        for stage in stages
    ]


def run_list(*, order_number: str = "", result: str = "") -> QuerySet:
    runs = WorkflowStepRun.objects.select_related("order").order_by("-id")
    if order_number:
        runs = runs.filter(order__number=order_number)
    if result:
        runs = runs.filter(result=result)
    return runs


def run_get(*, pk: int) -> WorkflowStepRun:
    run = WorkflowStepRun.objects.filter(pk=pk).first()
    if run is None:
        raise NotFound(f"No step run {pk}.")
    return run


def run_is_retryable(run: WorkflowStepRun) -> bool:
    return run.timing == WorkflowStep.Timing.ASYNC and run.result == StepResult.ERROR


def order_run_timeline(*, order: Order) -> list[dict]:
    """The order's step runs as timeline items (merged by `order_timeline`)."""
    return [
        {
            "kind": "workflow_step",
            "at": run.finished_at or run.created_at,
            "name": f"Step “{run.step_name}”: {run.get_result_display().lower()}",
            "actor": "workflow",
            "reason": run.message,
            "payload": {
                "run_id": run.pk,
                "stage": run.stage,
                "action": run.action,
                "timing": run.timing,
                "result": run.result,
                "duration_ms": run.duration_ms,
                "attempts": run.attempts,
                "retryable": run_is_retryable(run),
            },
        }
        for run in WorkflowStepRun.objects.filter(order=order).order_by("id")
    ]
