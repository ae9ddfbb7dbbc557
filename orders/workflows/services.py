"""Write use-cases of the workflow configuration: order types, steps and step
groups. Every write validates first (400 with field errors, nothing written),
runs in one transaction and clears the cached configuration."""

from django.db import transaction
from django.db.models import Max

from oms.errors import ApplicationError, Conflict
from orders.models import OrderStatus
from orders.workflows.actions import REGISTRY, action_for
from orders.workflows.config import SCOPE_KEYS, StepSpec, config_changed
from orders.workflows.models import (
    OrderTypeDefinition,
    WorkflowStage,
    WorkflowStep,
    WorkflowStepGroup,
)

TYPE_FIELDS = ("code", "name", "flow", "stages", "description", "active")
STEP_FIELDS = (
    "name",
    "action",
    "params",
    "timing",
    "condition",
    "stop_on_error",
    "active",
    "enabled_for",
    "disabled_for",
    "runs_group",
    "position",
)


def _refuse(message: str, field_errors: dict[str, list[str]]) -> None:
    raise ApplicationError(message, code="invalid_workflow", field_errors=field_errors)


# Order types -----------------------------------------------------------------------


def _type_errors(fields: dict, instance: OrderTypeDefinition | None) -> dict:
    errors: dict[str, list[str]] = {}
    code = fields.get("code", instance.code if instance else "")
    if not code or not str(code).replace("_", "").replace("-", "").isalnum():
        errors["code"] = ["Letters, digits, - and _ only."]
    elif (
        OrderTypeDefinition.objects.filter(code=code)
        .exclude(pk=instance.pk if instance else None)
        .exists()
    ):
        errors["code"] = [f"An order type {code!r} exists already."]
    if "name" in fields and not str(fields["name"]).strip():
        errors["name"] = ["Give it a name."]
    if "flow" in fields and fields["flow"] not in OrderTypeDefinition.Flow.values:
        errors["flow"] = [f"One of: {', '.join(OrderTypeDefinition.Flow.values)}."]
    elif (
        instance is not None
        and fields.get("flow", instance.flow) != instance.flow
        and instance.orders.exists()
    ):
        errors["flow"] = ["Orders of this type follow its flow; it cannot change."]
    stages = fields.get("stages")
    if stages is not None and (
        not isinstance(stages, list) or set(stages) - set(WorkflowStage.values)
    ):
        errors["stages"] = [f"A list of: {', '.join(WorkflowStage.values)}."]
    return errors


def _lifecycle_order(stages: list[str]) -> list[str]:
    return [stage for stage in WorkflowStage.values if stage in stages]


def order_type_create(*, copy_from: OrderTypeDefinition | None = None, **fields):
    """A new order type; with `copy_from`, a copy of that one (flow, stages and
    every step) under the new code and name, to adapt."""
    if copy_from is not None:
        fields = {
            "flow": copy_from.flow,
            "stages": copy_from.stages,
            "description": copy_from.description,
            **fields,
        }
    # Every status that is a stage (`returned` has no steps of its own yet).
    fields.setdefault(
        "stages", [status for status in OrderStatus.values if status in WorkflowStage]
    )
    missing = {
        name: ["Required."] for name in ("code", "name", "flow") if not fields.get(name)
    }
    errors = missing or _type_errors(fields, None)
    if errors:
        _refuse("The order type is not valid.", errors)
    fields["stages"] = _lifecycle_order(fields["stages"])
    with transaction.atomic():
        order_type = OrderTypeDefinition.objects.create(
            **{name: fields[name] for name in TYPE_FIELDS if name in fields}
        )
        if copy_from is not None:
            for step in copy_from.steps.order_by("position", "id"):
                step.pk, step.order_type = None, order_type
                step.save()
        config_changed()
    return order_type


def order_type_update(*, order_type: OrderTypeDefinition, **fields):
    """Change name, flow, stages, description or whether intake takes orders of
    the type (`active`); the code orders carry stays, and so does the flow once
    orders follow it."""
    if "code" in fields and fields["code"] != order_type.code:
        _refuse("The code cannot change.", {"code": ["Orders carry this code."]})
    fields.pop("code", None)
    errors = _type_errors(fields, order_type)
    if errors:
        _refuse("The order type is not valid.", errors)
    if "stages" in fields:
        fields["stages"] = _lifecycle_order(fields["stages"])
    with transaction.atomic():
        for name, value in fields.items():
            setattr(order_type, name, value)
        order_type.save()
        config_changed()
    return order_type


# Steps -----------------------------------------------------------------------------


def _scope_errors(name: str, value) -> list[str]:
    if not isinstance(value, dict) or set(value) - set(SCOPE_KEYS):
        return [f"An object with lists under: {', '.join(SCOPE_KEYS)}."]
    if not all(
        isinstance(items, list) and all(isinstance(i, str) for i in items)
        for items in value.values()
    ):
        return ["Each filter is a list of codes."]
    return []


def _group_of(value) -> WorkflowStepGroup | None:
    if value in (None, ""):
        return None
    if isinstance(value, WorkflowStepGroup):
        return value
    return WorkflowStepGroup.objects.filter(pk=value).first() or (
        WorkflowStepGroup.objects.filter(code=str(value)).first()
    )


def cleaned_step(fields: dict, *, group: WorkflowStepGroup | None = None) -> dict:
    """Validate step fields (the same rules for saving and for a dry run's draft):
    returns them cleaned, or raises a 400 with field errors."""
    errors: dict[str, list[str]] = {}
    if not str(fields.get("name") or "").strip():
        errors["name"] = ["Give the step a name."]
    action = action_for(fields.get("action") or "")
    if action is None:
        errors["action"] = [f"One of: {', '.join(sorted(REGISTRY))}."]
    else:
        fields["params"], param_errors = action.clean_params(fields.get("params") or {})
        errors.update(param_errors)
    for name, choices in (
        ("timing", WorkflowStep.Timing.values),
        ("condition", WorkflowStep.Condition.values),
    ):
        if name in fields and fields[name] not in choices:
            errors[name] = [f"One of: {', '.join(choices)}."]
    for name in ("enabled_for", "disabled_for"):
        if name in fields and (problems := _scope_errors(name, fields[name])):
            errors[name] = problems
    runs_group = _group_of(fields.get("runs_group"))
    if fields.get("action") == "run_group":
        if runs_group is None:
            errors["runs_group"] = ["Choose the group to run."]
        elif group is not None and runs_group.pk == group.pk:
            errors["runs_group"] = ["A group cannot run itself."]
    elif fields.get("runs_group"):
        errors["runs_group"] = ["Only a run_group step runs a group."]
    position = fields.get("position", 0)
    if not isinstance(position, int) or position < 0:
        errors["position"] = ["A whole number, 0 or more."]
    if errors:
        _refuse("The step is not valid.", errors)
    fields["runs_group"] = runs_group
    return {name: fields[name] for name in STEP_FIELDS if name in fields}


def draft_spec(fields: dict) -> StepSpec:
    """A step that is not saved, for a dry run."""
    cleaned = cleaned_step(dict(fields))
    group = cleaned.pop("runs_group", None)
    cleaned.pop("position", None)
    cleaned.pop("active", None)
    return StepSpec(id=None, runs_group=group.pk if group else None, **cleaned)


def _next_position(**owner) -> int:
    last = WorkflowStep.objects.filter(**owner).aggregate(last=Max("position"))["last"]
    return 0 if last is None else last + 10


def step_create(
    *,
    order_type: OrderTypeDefinition | None = None,
    stage: str = "",
    group: WorkflowStepGroup | None = None,
    **fields,
) -> WorkflowStep:
    """Add a step at the end of a stage of an order type, or of a group."""
    errors = {}
    if group is None:
        if order_type is None:
            errors["order_type"] = ["Choose the order type."]
        if stage not in WorkflowStage.values:
            errors["stage"] = [f"One of: {', '.join(WorkflowStage.values)}."]
    if errors:
        _refuse("The step is not valid.", errors)
    cleaned = cleaned_step(fields, group=group)
    owner = {"group": group} if group else {"order_type": order_type, "stage": stage}
    with transaction.atomic():
        cleaned.setdefault("position", _next_position(**owner))
        step = WorkflowStep.objects.create(**owner, **cleaned)
        config_changed()
    return step


def step_update(*, step: WorkflowStep, **fields) -> WorkflowStep:
    """Change a step's action, parameters, flags, filters or position."""
    current = {name: getattr(step, name) for name in STEP_FIELDS}
    current["runs_group"] = step.runs_group
    cleaned = cleaned_step({**current, **fields}, group=step.group)
    with transaction.atomic():
        for name, value in cleaned.items():
            setattr(step, name, value)
        step.save()
        config_changed()
    return step


def step_delete(*, step: WorkflowStep) -> None:
    """Remove a step; its past runs keep their name and result."""
    with transaction.atomic():
        step.delete()
        config_changed()


def group_create(
    *, code: str, name: str, stop_on_error: bool = True, description: str = ""
) -> WorkflowStepGroup:
    """A named, reusable list of steps (add its members with `step_create(group=)`)."""
    errors = {}
    if WorkflowStepGroup.objects.filter(code=code).exists():
        errors["code"] = [f"{code!r} exists already."]
    if not name.strip():
        errors["name"] = ["Give it a name."]
    if errors:
        _refuse("The group is not valid.", errors)
    with transaction.atomic():
        group = WorkflowStepGroup.objects.create(
            code=code, name=name, stop_on_error=stop_on_error, description=description
        )
        config_changed()
    return group


def group_update(
    *, group: WorkflowStepGroup, name: str, stop_on_error: bool, description: str
) -> WorkflowStepGroup:
    """Rename a group, or change whether a member's error skips the rest; the
    code steps refer to it by stays."""
    if not name.strip():
        _refuse("The group is not valid.", {"name": ["Give it a name."]})
    with transaction.atomic():
        group.name, group.description = name, description
        group.stop_on_error = stop_on_error
        group.save()
        config_changed()
    return group


def group_delete(*, group: WorkflowStepGroup) -> None:
    if group.referenced_by.exists():
        raise Conflict("Steps still run this group.", code="group_in_use")
    with transaction.atomic():
        group.delete()
        config_changed()
