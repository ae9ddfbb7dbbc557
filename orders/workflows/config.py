"""The workflow configuration as the runner reads it: every active step, grouped
by (order type, stage), loaded in a few queries and kept per process for
`OMS_WORKFLOW_CONFIG_TTL_SECONDS`, so entering a stage costs a dictionary look-up.

Edits through `orders.workflows.services` clear this process's copy at once (and
again on commit); other processes see them within the TTL.
"""

import time
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from inventory.models import Location
from orders.models import Channel
from orders.workflows.actions import action_for
from orders.workflows.models import (
    OrderTypeDefinition,
    WorkflowStep,
    WorkflowStepGroup,
)

SCOPE_KEYS = ("channels", "locations", "shipping_methods", "tags")


@dataclass(frozen=True)
class StepSpec:
    """A step as the runner needs it, detached from the database row."""

    id: int | None
    name: str
    action: str
    params: dict
    timing: str = WorkflowStep.Timing.ASYNC
    condition: str = WorkflowStep.Condition.ALWAYS
    stop_on_error: bool = False
    enabled_for: dict = field(default_factory=dict)
    disabled_for: dict = field(default_factory=dict)
    runs_group: int | None = None

    @classmethod
    def of(cls, step: WorkflowStep) -> "StepSpec":
        return cls(
            id=step.pk,
            name=step.name,
            action=step.action,
            params=step.params,
            timing=step.timing,
            condition=step.condition,
            stop_on_error=step.stop_on_error,
            enabled_for=step.enabled_for,
            disabled_for=step.disabled_for,
            runs_group=step.runs_group_id,
        )

    @property
    def is_async(self) -> bool:
        return self.timing == WorkflowStep.Timing.ASYNC

    @property
    def runner(self):
        return action_for(self.action)


@dataclass(frozen=True)
class GroupSpec:
    id: int
    name: str
    stop_on_error: bool
    steps: tuple[StepSpec, ...]


@dataclass(frozen=True)
class TypeSpec:
    code: str
    name: str
    flow: str
    active: bool


@dataclass
class WorkflowConfig:
    steps: dict[tuple[str, str], tuple[StepSpec, ...]]
    groups: dict[int, GroupSpec]
    order_types: dict[str, TypeSpec] = field(default_factory=dict)

    def stage_steps(self, order_type: str, stage: str) -> tuple[StepSpec, ...]:
        return self.steps.get((order_type, stage), ())


def load_config(*, include_inactive: bool = False) -> WorkflowConfig:
    """Read the whole configuration, in two queries (steps, order types)."""
    steps = WorkflowStep.objects.select_related("order_type", "runs_group").order_by(
        "position", "id"
    )
    if not include_inactive:
        steps = steps.filter(active=True)
    by_stage: dict[tuple[str, str], list[StepSpec]] = defaultdict(list)
    by_group: dict[int, list[StepSpec]] = defaultdict(list)
    referenced: dict[int, WorkflowStepGroup] = {}
    for step in steps:
        if step.runs_group_id:
            referenced[step.runs_group_id] = step.runs_group
        if step.group_id:
            by_group[step.group_id].append(StepSpec.of(step))
        else:
            by_stage[(step.order_type.code, step.stage)].append(StepSpec.of(step))
    return WorkflowConfig(
        steps={key: tuple(specs) for key, specs in by_stage.items()},
        groups={
            pk: GroupSpec(pk, group.name, group.stop_on_error, tuple(by_group[pk]))
            for pk, group in referenced.items()
        },
        order_types={
            code: TypeSpec(code, name, flow, active)
            for code, name, flow, active in OrderTypeDefinition.objects.values_list(
                "code", "name", "flow", "active"
            )
        },
    )


_cached: dict = {"config": None, "loaded_at": 0.0}


def current_config() -> WorkflowConfig:
    """The active configuration, from this process's copy while it is fresh."""
    now = time.monotonic()
    config = _cached["config"]
    if (
        config is None
        or now - _cached["loaded_at"] > settings.OMS_WORKFLOW_CONFIG_TTL_SECONDS
    ):
        config = load_config()
        _cached.update(config=config, loaded_at=now)
    return config


def order_type_spec(code: str) -> TypeSpec | None:
    """The order type `code` (None when no such type exists), from the cached
    configuration; a code it does not know yet (a type created since, in another
    process) makes it read the configuration again, once."""
    spec = current_config().order_types.get(code)
    if spec is None:
        forget_config()
        spec = current_config().order_types.get(code)
    return spec


def order_type_choices() -> list[tuple[str, str]]:
    """(code, name) of every order type, for filters and forms."""
    return [(spec.code, spec.name) for spec in current_config().order_types.values()]


def forget_config() -> None:
    _cached["config"] = None


def config_changed() -> None:
    """Called by every write to the configuration: reload now and after commit."""
    forget_config()
    transaction.on_commit(forget_config)


def location_codes_of(orders) -> dict[int, set[str]]:
    """Order id → codes of the locations involved (pickup store, fulfilling
    locations), in two queries for the whole batch; only loaded when a step
    filters on locations."""
    from orders.routing.models import FulfillmentRequest

    codes: dict[int, set[str]] = {order.pk: set() for order in orders}
    pickup_ids = {o.pickup_location_id for o in orders if o.pickup_location_id}
    pickup_codes = dict(
        Location.objects.filter(pk__in=pickup_ids).values_list("pk", "code")
    )
    for order in orders:
        if order.pickup_location_id:
            codes[order.pk].add(pickup_codes[order.pickup_location_id])
    for order_id, code in FulfillmentRequest.objects.filter(
        order_id__in=list(codes)
    ).values_list("order_id", "location__code"):
        codes[order_id].add(code)
    return codes


def channel_codes() -> dict[int, str]:
    return dict(Channel.objects.values_list("pk", "code"))
