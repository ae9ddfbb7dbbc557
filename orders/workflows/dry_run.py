"""Dry run: which steps would run for chosen orders, with which parameters and
to what effect, under the saved configuration or a draft of one stage's steps.
Reads only: actions `describe()` instead of `run()`, nothing is written or sent."""

from collections.abc import Sequence

from orders.models import Order
from orders.workflows.config import StepSpec, WorkflowConfig, current_config
from orders.workflows.models import WorkflowStep
from orders.workflows.runner import Scope

UNLESS_ASSUMED = {
    WorkflowStep.Condition.ANY_WARNING: "Runs only if an earlier step warns.",
    WorkflowStep.Condition.ANY_ERROR: "Runs only if an earlier step fails.",
}


def sample_orders(
    *, numbers: Sequence[str] = (), order_type: str = "", sample: int = 0
) -> list[Order]:
    """The orders named, or the latest `sample` orders (of a type, if given)."""
    queryset = Order.objects.select_related("channel")
    if numbers:
        return list(queryset.filter(number__in=list(numbers)))
    if order_type:
        queryset = queryset.filter(order_type=order_type)
    return list(queryset.order_by("-id")[: max(1, min(sample, 50))])


def _plan(steps, order, config: WorkflowConfig, scope: Scope) -> list[dict]:
    planned = []
    for step in steps:
        reason = scope.refusal(step, order) or UNLESS_ASSUMED.get(step.condition, "")
        entry = {
            "name": step.name,
            "action": step.action,
            "params": step.params,
            "timing": step.timing,
            "condition": step.condition,
            "stop_on_error": step.stop_on_error,
            "would_run": not reason,
            "reason": reason,
            "effect": "",
        }
        if not reason and step.runs_group:
            group = config.groups[step.runs_group]
            entry["effect"] = f"Would run the group “{group.name}”."
            entry["steps"] = _plan(group.steps, order, config, scope)
        elif not reason:
            entry["effect"] = step.runner.describe(order=order, params=step.params)
        planned.append(entry)
    return planned


def dry_run(
    *,
    orders: Sequence[Order],
    stage: str = "",
    draft: Sequence[StepSpec] | None = None,
) -> list[dict]:
    """For each order: the steps of `stage` (default: its current status) as
    they would run now, assuming earlier steps succeed. With `draft`, those steps
    stand in for the saved steps of the stage."""
    config = current_config()
    scope = Scope(config, orders)
    plans = []
    for order in orders:
        order_stage = stage or order.status
        steps = (
            draft
            if draft is not None
            else config.stage_steps(order.order_type_id, order_stage)
        )
        plans.append(
            {
                "order": order.number,
                "order_type": order.order_type_id,
                "stage": order_stage,
                "steps": _plan(steps, order, config, scope),
            }
        )
    return plans
