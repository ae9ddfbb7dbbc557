"""Forms of the routing and fulfillment pages (validation shared with the API lives
in `services.rule_set_errors`)."""

from django import forms

from inventory.models import Location
from orders.models import Order
from orders.routing import engine
from orders.routing.models import RoutingRuleSet

ROUTABLE_QUEUES = [
    (Order.Queue.BROKERING.value, "Brokering"),
    (Order.Queue.REJECTED.value, "Rejected"),
    (Order.Queue.UNFILLABLE.value, "Unfillable"),
]
CRITERIA = [
    (engine.SortCriterion.FEWEST_SPLITS.value, "Fewest splits"),
    (engine.SortCriterion.DISTANCE.value, "Distance to the customer"),
    (engine.SortCriterion.PRIORITY.value, "Location priority"),
    (engine.SortCriterion.AVAILABLE_STOCK.value, "Most available stock"),
]


class RuleSetForm(forms.Form):
    """A rule set as data. Sort criteria are given in order by ranking each one
    (1 first; blank = not used)."""

    name = forms.CharField(max_length=100, required=False)
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    queues = forms.MultipleChoiceField(
        choices=ROUTABLE_QUEUES, widget=forms.CheckboxSelectMultiple
    )
    location_types = forms.MultipleChoiceField(
        choices=Location.Type.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="None ticked: every type.",
    )
    require_can_ship = forms.BooleanField(
        required=False, initial=True, label="Only locations that can ship"
    )
    exclude_rejecting_locations = forms.BooleanField(
        required=False,
        initial=True,
        label="Exclude locations that rejected the order before",
    )
    split_policy = forms.ChoiceField(
        choices=[
            ("never", "Never split"),
            ("when_needed", "Split when no single location has everything"),
            ("freely", "Split freely (each line to its best location)"),
        ]
    )
    safety_stock_override = forms.IntegerField(
        min_value=0,
        required=False,
        label="Safety stock (units kept back at every location)",
        help_text="Empty: each location's own safety stock.",
    )
    run_every_minutes = forms.IntegerField(
        min_value=1,
        max_value=10_080,
        required=False,
        label="Run every (minutes)",
        help_text="Empty: started by hand only.",
    )
    active = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for value, label in CRITERIA:
            self.fields[f"rank_{value}"] = forms.IntegerField(
                min_value=1,
                max_value=len(CRITERIA),
                required=False,
                label=f"Rank of “{label}”",
            )

    @classmethod
    def initial_for(cls, rule_set: RoutingRuleSet) -> dict:
        initial = {
            name: getattr(rule_set, name)
            for name in (
                "name",
                "description",
                "queues",
                "location_types",
                "require_can_ship",
                "exclude_rejecting_locations",
                "split_policy",
                "safety_stock_override",
                "run_every_minutes",
                "active",
            )
        }
        for rank, criterion in enumerate(rule_set.sort_criteria, start=1):
            initial[f"rank_{criterion}"] = rank
        return initial

    def clean(self):
        data = super().clean()
        ranked = sorted(
            (data[f"rank_{value}"], value)
            for value, _ in CRITERIA
            if data.get(f"rank_{value}")
        )
        if not ranked:
            raise forms.ValidationError("Rank at least one sort criterion.")
        if len({rank for rank, _ in ranked}) != len(ranked):
            raise forms.ValidationError("Give each sort criterion its own rank.")
        data["sort_criteria"] = [value for _, value in ranked]
        return data

    def rule_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"].strip(),
            "description": data["description"],
            "queues": list(data["queues"]),
            "location_types": list(data["location_types"]),
            "require_can_ship": data["require_can_ship"],
            "exclude_rejecting_locations": data["exclude_rejecting_locations"],
            "sort_criteria": data["sort_criteria"],
            "split_policy": data["split_policy"],
            "safety_stock_override": data["safety_stock_override"],
            "run_every_minutes": data["run_every_minutes"],
            "active": data["active"],
        }


class SimulationForm(RuleSetForm):
    """Draft rules (or a saved rule set) and, optionally, chosen order numbers."""

    rule_set = forms.ModelChoiceField(
        queryset=RoutingRuleSet.objects.order_by("name"),
        required=False,
        empty_label="— the draft rules below —",
        label="Simulate a saved rule set",
    )
    order_numbers = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        label="Order numbers (one per line or comma-separated; empty: the queue)",
    )

    field_order = ["rule_set", "order_numbers"]

    def clean(self):
        if self.data.get("rule_set"):
            # A saved rule set needs none of the draft fields.
            for name in list(self.errors):
                if name not in ("rule_set", "order_numbers"):
                    del self.errors[name]
            return {
                "rule_set": self.cleaned_data.get("rule_set"),
                "order_numbers": self.cleaned_data.get("order_numbers", ""),
            }
        return super().clean()

    def numbers(self) -> list[str]:
        raw = self.cleaned_data.get("order_numbers", "") or ""
        return [n for n in raw.replace(",", "\n").split() if n]


class RejectForm(forms.Form):
    reason = forms.CharField(max_length=500, label="Reason for rejecting")


class ShipForm(forms.Form):
    carrier = forms.CharField(max_length=60)
    tracking_number = forms.CharField(max_length=100)


class QueueCsvForm(forms.Form):
    file = forms.FileField(label="CSV of order numbers (first column)")
    action = forms.ChoiceField(
        choices=[
            ("hold", "Hold (unfillable → unfillable hold)"),
            ("unhold", "Unhold (back to unfillable)"),
            ("release", "Release to brokering"),
        ]
    )


class AlternativeForm(forms.Form):
    pickup_location = forms.ModelChoiceField(
        queryset=Location.objects.filter(can_pickup=True, active=True).order_by("code"),
        required=False,
        label="Another pickup store",
    )
    address_line1 = forms.CharField(
        max_length=200, required=False, label="Or deliver to: address"
    )
    city = forms.CharField(max_length=100, required=False)
    postal_code = forms.CharField(max_length=20, required=False)
    country = forms.CharField(max_length=2, required=False)
