"""Workflow fixtures: the seeded order types, and `add_step(...)` configuring a
step through the service as an admin would."""

import pytest

from orders.workflows import services
from orders.workflows.models import OrderTypeDefinition, WorkflowStep


@pytest.fixture
def standard(db):
    return OrderTypeDefinition.objects.get(code="standard")


@pytest.fixture
def add_step(standard):
    def add(stage, action, params, **fields):
        fields.setdefault("timing", WorkflowStep.Timing.SYNC)
        return services.step_create(
            order_type=fields.pop("order_type", standard),
            stage=stage,
            name=fields.pop("name", f"{action} {params}"),
            action=action,
            params=params,
            **fields,
        )

    return add


@pytest.fixture
def without_seeded_steps(db):
    """Only the steps a test adds: the seeded notifications removed."""
    WorkflowStep.objects.all().delete()
