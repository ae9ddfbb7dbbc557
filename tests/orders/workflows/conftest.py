"""Workflow fixtures: the seeded standard order type, and `add_step(...)`
configuring a step through the service as an admin would."""

import pytest
from rest_framework import serializers

from orders.workflows import services
from orders.workflows.actions import Action, Outcome, register
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


@register
class FailsWhileBroken(Action):
    """A connector that is down: an error while `BROKEN["now"]`, then success.
    Registered the way a retailer's own action would be."""

    code = "test_fails_while_broken"
    label = "Fails while broken (tests)"
    BROKEN = {"now": True}

    class Params(serializers.Serializer):
        reason = serializers.CharField()

    def run(self, *, order, params, actor=None):
        if self.BROKEN["now"]:
            return Outcome.error(params["reason"])
        return Outcome.success("Worked this time.")

    def describe(self, *, order, params):
        return "Would fail while broken."


@pytest.fixture
def broken():
    """The failing action fails until the test sets broken["now"] = False."""
    FailsWhileBroken.BROKEN["now"] = True
    yield FailsWhileBroken.BROKEN
    FailsWhileBroken.BROKEN["now"] = True


FAILING = ("test_fails_while_broken", {"reason": "The ERP is down."})
