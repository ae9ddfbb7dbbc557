"""Forms of the workflow pages; the rules live in `orders.workflows.services`
(the same for the API)."""

import json

from django import forms

from oms.text import holds_unstorable_text
from orders.workflows.actions import action_choices
from orders.workflows.config import SCOPE_KEYS
from orders.workflows.models import (
    OrderTypeDefinition,
    WorkflowStage,
    WorkflowStep,
    WorkflowStepGroup,
)

SCOPE_LABELS = {
    "channels": "channels",
    "locations": "locations",
    "shipping_methods": "shipping methods",
    "tags": "tags",
}


class OrderTypeForm(forms.Form):
    code = forms.SlugField(max_length=20)
    name = forms.CharField(max_length=100)
    flow = forms.ChoiceField(choices=OrderTypeDefinition.Flow.choices)
    stages = forms.MultipleChoiceField(
        choices=WorkflowStage.choices, widget=forms.CheckboxSelectMultiple
    )
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    active = forms.BooleanField(
        required=False, initial=True, label="Active (intake takes its orders)"
    )

    @classmethod
    def initial_for(cls, order_type: OrderTypeDefinition) -> dict:
        return {name: getattr(order_type, name) for name in cls.base_fields}


class CopyOrderTypeForm(forms.Form):
    copy_from = forms.ModelChoiceField(
        queryset=OrderTypeDefinition.objects.all(), to_field_name="code",
        label="Copy of",
    )  # fmt: skip
    code = forms.SlugField(max_length=20, label="New code")
    name = forms.CharField(max_length=100, label="New name")


def _codes(text: str) -> list[str]:
    return [code.strip() for code in text.split(",") if code.strip()]


class GroupForm(forms.Form):
    code = forms.SlugField(max_length=40)
    name = forms.CharField(max_length=100)
    stop_on_error = forms.BooleanField(
        required=False, initial=True, label="A member's error skips the rest"
    )
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False
    )

    @classmethod
    def for_group(cls, group: WorkflowStepGroup, data=None) -> "GroupForm":
        """The form editing `group`: its code shows but does not change."""
        initial = {name: getattr(group, name) for name in cls.base_fields}
        form = cls(data, initial=initial)
        form.fields["code"].disabled = True
        return form


class StepForm(forms.Form):
    """A step; scope filters as comma-separated codes, parameters as JSON. A
    group's member (`in_group`) has no stage of its own."""

    stage = forms.ChoiceField(choices=WorkflowStage.choices)
    name = forms.CharField(max_length=100)
    action = forms.ChoiceField(choices=action_choices)
    params = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        initial="{}",
        help_text='JSON, e.g. {"tags": ["vip"]} or {"notification": '
        '"order_confirmation"}.',
    )
    runs_group = forms.ModelChoiceField(
        queryset=WorkflowStepGroup.objects.all(), to_field_name="code",
        required=False, label="Group to run",
    )  # fmt: skip
    timing = forms.ChoiceField(choices=WorkflowStep.Timing.choices)
    condition = forms.ChoiceField(choices=WorkflowStep.Condition.choices)
    stop_on_error = forms.BooleanField(required=False)
    active = forms.BooleanField(required=False, initial=True)
    position = forms.IntegerField(
        min_value=0, required=False, help_text="Lower runs first; empty: last."
    )

    def __init__(self, *args, in_group: bool = False, **kwargs):
        if in_group:
            # Shares its page with the group's own form: ids of its own.
            kwargs.setdefault("auto_id", "step_%s")
        super().__init__(*args, **kwargs)
        if in_group:
            del self.fields["stage"]
        for key in SCOPE_KEYS:
            for side in ("enabled", "disabled"):
                self.fields[f"{side}_{key}"] = forms.CharField(
                    required=False,
                    label=f"{'Only' if side == 'enabled' else 'Not'} for "
                    f"{SCOPE_LABELS[key]}",
                    help_text="Comma-separated codes.",
                )

    def clean_params(self):
        try:
            params = json.loads(self.cleaned_data["params"] or "{}")
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc.msg}.") from exc
        if not isinstance(params, dict):
            raise forms.ValidationError("A JSON object, in braces.")
        if holds_unstorable_text(params):
            raise forms.ValidationError(
                "Holds a null character or a lone surrogate, which cannot be stored."
            )
        return params

    def step_fields(self) -> dict:
        data = self.cleaned_data
        fields = {
            name: data[name]
            for name in (
                "name", "action", "params", "runs_group", "timing", "condition",
                "stop_on_error", "active",
            )
        }  # fmt: skip
        if data.get("position") is not None:
            fields["position"] = data["position"]
        for side in ("enabled", "disabled"):
            fields[f"{side}_for"] = {
                key: codes
                for key in SCOPE_KEYS
                if (codes := _codes(data.get(f"{side}_{key}", "")))
            }
        return fields

    @classmethod
    def initial_for(cls, step: WorkflowStep) -> dict:
        initial = {
            name: getattr(step, name)
            for name in (
                "stage", "name", "action", "timing", "condition", "stop_on_error",
                "active", "position",
            )
        }  # fmt: skip
        initial["params"] = json.dumps(step.params)
        initial["runs_group"] = step.runs_group.code if step.runs_group else None
        for side in ("enabled", "disabled"):
            for key, codes in getattr(step, f"{side}_for").items():
                initial[f"{side}_{key}"] = ", ".join(codes)
        return initial
