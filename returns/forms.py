"""The "Return items" form: per shipped line a quantity, a reason, a condition and
optionally an exchange (a replacement SKU, quantity and price), and the location
that receives the items."""

from django import forms

from inventory.models import Location
from inventory.selectors import locations_for_user
from oms.roles import Role, has_role
from orders.models import Order
from returns.models import ItemCondition, ReturnReason
from returns.services import ReplacementInput, ReturnItemInput


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
            self._add_exchange_fields(line)

    def _add_exchange_fields(self, line) -> None:
        self.fields[f"exchange-{line.pk}"] = forms.BooleanField(
            label=f"Exchange {line.sku} for a replacement", required=False
        )
        self.fields[f"replacement_sku-{line.pk}"] = forms.CharField(
            label=f"Replacement SKU for {line.sku}",
            max_length=64,
            required=False,
            widget=forms.TextInput(attrs={"placeholder": line.sku, "size": 10}),
        )
        self.fields[f"replacement_qty-{line.pk}"] = forms.IntegerField(
            label=f"Replacement units for {line.sku}",
            min_value=1,
            max_value=line.quantity_fulfilled,
            required=False,
            widget=forms.NumberInput(attrs={"placeholder": "as returned"}),
        )
        self.fields[f"replacement_price-{line.pk}"] = forms.DecimalField(
            label=f"Replacement unit price for {line.sku}",
            min_value=0,
            max_digits=14,
            decimal_places=4,
            required=False,
            widget=forms.NumberInput(attrs={"placeholder": f"{line.unit_price:.2f}"}),
        )

    def rows(self) -> list[dict]:
        """The fields of each shipped line, by name (`line`, `quantity`, `reason`,
        `condition`, `exchange`, `replacement_sku`, `replacement_qty`,
        `replacement_price`)."""
        names = (
            "qty",
            "reason",
            "condition",
            "exchange",
            "replacement_sku",
            "replacement_qty",
            "replacement_price",
        )
        return [
            {
                "line": line,
                **{
                    "quantity" if name == "qty" else name: self[f"{name}-{line.pk}"]
                    for name in names
                },
            }
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
                replacement=self._replacement(pk),
            )
            for pk, count in self.units().items()
        ]

    def _replacement(self, pk: int) -> ReplacementInput | None:
        if not self.cleaned_data.get(f"exchange-{pk}"):
            return None
        return ReplacementInput(
            sku=self.cleaned_data[f"replacement_sku-{pk}"].strip(),
            quantity=self.cleaned_data[f"replacement_qty-{pk}"],
            unit_price=self.cleaned_data[f"replacement_price-{pk}"],
        )
