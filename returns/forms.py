"""The "Return items" form: per shipped line a quantity, a reason and a condition,
and the location that receives the items."""

from django import forms

from inventory.models import Location
from inventory.selectors import locations_for_user
from oms.roles import Role, has_role
from orders.models import Order
from returns.models import ItemCondition, ReturnReason
from returns.services import ReturnItemInput


class ReturnItemsForm(forms.Form):
    location = forms.ModelChoiceField(
        queryset=Location.objects.none(), label="Receiving location"
    )

    def __init__(self, *args, order: Order, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order
        self.lines = [line for line in order.lines.all() if line.quantity_fulfilled]
        locations = (
            Location.objects.all()
            if has_role(user, Role.CSR)
            else locations_for_user(user=user)
        )
        self.fields["location"].queryset = locations.order_by("code")
        for line in self.lines:
            self.fields[f"qty-{line.pk}"] = forms.IntegerField(
                label=f"Units of {line.sku} to return",
                min_value=0,
                max_value=line.quantity_fulfilled,
                initial=0,
                required=False,
            )
            self.fields[f"reason-{line.pk}"] = forms.ChoiceField(
                label=f"Reason for {line.sku}",
                choices=ReturnReason.choices,
                initial=ReturnReason.CHANGED_MIND,
            )
            self.fields[f"condition-{line.pk}"] = forms.ChoiceField(
                label=f"Condition of {line.sku}",
                choices=ItemCondition.choices,
                initial=ItemCondition.RESELLABLE,
            )

    def rows(self):
        """(line, quantity field, reason field, condition field) per shipped line."""
        return [
            (
                line,
                self[f"qty-{line.pk}"],
                self[f"reason-{line.pk}"],
                self[f"condition-{line.pk}"],
            )
            for line in self.lines
        ]

    def clean(self):
        data = super().clean()
        if not any(data.get(f"qty-{line.pk}") for line in self.lines):
            raise forms.ValidationError("Choose at least one unit to return.")
        return data

    def units(self) -> dict[int, int]:
        return {
            line.pk: self.cleaned_data[f"qty-{line.pk}"]
            for line in self.lines
            if self.cleaned_data.get(f"qty-{line.pk}")
        }

    def items(self) -> list[ReturnItemInput]:
        return [
            ReturnItemInput(
                order_line_id=pk,
                quantity=count,
                reason=self.cleaned_data[f"reason-{pk}"],
                condition=self.cleaned_data[f"condition-{pk}"],
            )
            for pk, count in self.units().items()
        ]
