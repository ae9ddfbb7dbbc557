"""Running a django-fsm transition and logging it for the timeline."""

from typing import Any

from django.db import models
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from oms.bulk import insert_rows
from oms.models import StateTransition
from oms.services.events import entity_type_of


def apply_transition(
    instance: models.Model,
    transition_name: str,
    *,
    actor=None,
    reason: str = "",
    field: str = "status",
    **kwargs: Any,
) -> None:
    """Call `instance.<transition_name>(**kwargs)` and record who, from, to and why.

    The caller saves the instance (with its other changes) in the same transaction.
    Raises `TransitionNotAllowed` when the current state does not allow it.
    """
    source = getattr(instance, field)
    method = getattr(instance, transition_name)
    method(**kwargs)
    StateTransition.objects.create(
        entity_type=entity_type_of(instance),
        entity_id=str(instance.pk),
        field=field,
        source=source,
        target=getattr(instance, field),
        transition=transition_name,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        reason=reason,
    )


def apply_transitions(
    instances: list[models.Model],
    transition_name: str,
    *,
    actor=None,
    reason: str = "",
    field: str = "status",
) -> None:
    """`apply_transition` for many instances at once, for batch work: each runs its
    django-fsm transition (so a state that does not allow it raises
    `TransitionNotAllowed`), and the log rows are written in one statement. The
    caller saves the instances, e.g. with `bulk_update`, in the same transaction."""
    if not instances:
        return
    now = timezone.now()
    rows = []
    for instance in instances:
        source = getattr(instance, field)
        getattr(instance, transition_name)()
        rows.append(
            {
                "entity_type": entity_type_of(instance),
                "entity_id": str(instance.pk),
                "field": field,
                "source": source,
                "target": getattr(instance, field),
                "transition": transition_name,
                "actor": actor.pk
                if getattr(actor, "is_authenticated", False)
                else None,
                "reason": reason,
                "occurred_at": now,
            }
        )
    insert_rows(StateTransition, rows)


def allowed_transitions(instance: models.Model, field: str = "status") -> list[str]:
    """Names of the transitions allowed from the current state (conditions included)."""
    getter = getattr(instance, f"get_available_{field}_transitions")
    return sorted({t.name for t in getter()})


__all__ = [
    "TransitionNotAllowed",
    "allowed_transitions",
    "apply_transition",
    "apply_transitions",
]
