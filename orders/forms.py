from django import forms

from orders.models import Order
from orders.workflows.config import order_type_choices


class OrderFilterForm(forms.Form):
    """The list's filters as a labelled form (values are applied by OrderFilter)."""

    q = forms.CharField(
        required=False, label="Search (number, email, external id, SKU)"
    )
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *Order.Status.choices]
    )
    queue = forms.ChoiceField(
        required=False,
        choices=[("", "Any queue"), *[c for c in Order.Queue.choices if c[0]]],
    )
    order_type = forms.ChoiceField(
        required=False,
        label="Type",
        choices=lambda: [("", "Any type"), *order_type_choices()],
    )
    channel = forms.CharField(required=False, label="Channel code")
    location = forms.CharField(required=False, label="Location code")
    placed_from = forms.DateField(
        required=False,
        label="Placed from",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    placed_to = forms.DateField(
        required=False,
        label="Placed to",
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class OrderEditForm(forms.ModelForm):
    address_line1 = forms.CharField(required=False, label="Address")
    city = forms.CharField(required=False)
    postal_code = forms.CharField(required=False, label="Postal code")
    country = forms.CharField(required=False, max_length=2)

    class Meta:
        model = Order
        fields = [
            "customer_name",
            "customer_email",
            "customer_phone",
            "shipping_method",
            "notes",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        address = self.instance.shipping_address or {}
        for name in ("address_line1", "city", "postal_code", "country"):
            self.fields[name].initial = address.get(name, "")

    def changes(self) -> dict:
        data = {name: self.cleaned_data[name] for name in self.Meta.fields}
        address = dict(self.instance.shipping_address or {})
        for name in ("address_line1", "city", "postal_code", "country"):
            address[name] = self.cleaned_data[name]
        data["shipping_address"] = address
        return data


class SwapForm(forms.Form):
    line_id = forms.TypedChoiceField(coerce=int, label="Line to replace")
    quantity = forms.IntegerField(min_value=1, label="Quantity")
    new_sku = forms.CharField(max_length=64, label="New SKU")
    new_unit_price = forms.DecimalField(
        required=False,
        min_value=0,
        decimal_places=4,
        label="New unit price",
        help_text="Empty keeps the current price.",
    )
    reason = forms.CharField(max_length=2000, label="Swap reason")

    def __init__(self, *args, order: Order, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["line_id"].choices = [
            (line.pk, f"#{line.position} {line.sku} ({line.quantity_cancellable} left)")
            for line in order.lines.all()
            if line.quantity_cancellable
        ]
