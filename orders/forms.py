import re
from decimal import Decimal

from django import forms

from orders.intake import LineInput
from orders.models import Order
from orders.workflows.config import order_type_choices
from payments.money import quantize

ZERO = Decimal("0")


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
    # The order as the page showed it: saving over another user's change is refused.
    version = forms.CharField(required=False, widget=forms.HiddenInput)
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


def _amount_field(label: str, **kwargs) -> forms.DecimalField:
    return forms.DecimalField(
        label=label, min_value=0, max_digits=14, decimal_places=4, **kwargs
    )


class OrderLineForm(forms.Form):
    sku = forms.CharField(max_length=64, label="SKU")
    quantity = forms.IntegerField(min_value=1, max_value=100_000)
    unit_price = _amount_field("Unit price")
    discount = _amount_field("Discount", required=False)
    tax = _amount_field("Tax", required=False)
    final_sale = forms.BooleanField(required=False, label="Final sale")


class BaseOrderLinesFormSet(forms.BaseFormSet):
    """The order's lines, to replace them all during the grace period: a row per
    line, a few blank rows to add one, and a box to remove one."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].label = "Remove"
        # The rows sit under the table's column headings, with no label of their
        # own: each input is named for its column.
        for name, field in form.fields.items():
            field.widget.attrs["aria-label"] = form[name].label

    def line_inputs(self) -> list[LineInput]:
        """The lines kept (not removed, not left blank), as the service takes them."""
        return [
            LineInput(
                sku=form.cleaned_data["sku"].strip(),
                quantity=form.cleaned_data["quantity"],
                unit_price=form.cleaned_data["unit_price"],
                discount=form.cleaned_data["discount"] or ZERO,
                tax=form.cleaned_data["tax"] or ZERO,
                final_sale=form.cleaned_data["final_sale"],
            )
            for form in self._kept_forms()
        ]

    def add_service_errors(self, field_errors: dict[str, list[str]]) -> list[str]:
        """Put the service's `lines[i].field` errors on the rows they are about;
        returns the others, worded for a message."""
        kept, others = self._kept_forms(), []
        for key, errs in field_errors.items():
            match = re.fullmatch(r"lines\[(\d+)\]\.(\w+)", key)
            if match and int(match[1]) < len(kept):
                form = kept[int(match[1])]
                field = match[2] if match[2] in form.fields else None
                for message in errs:
                    form.add_error(field, message)
            else:
                others.append(f"{key}: {' '.join(errs)}")
        return others

    def _kept_forms(self) -> list[forms.Form]:
        return [
            form
            for form in self.forms
            if form.cleaned_data and not self._should_delete_form(form)
        ]


OrderLinesFormSet = forms.formset_factory(
    OrderLineForm, formset=BaseOrderLinesFormSet, extra=2, can_delete=True
)


def order_lines_formset(order: Order, data=None) -> BaseOrderLinesFormSet:
    """The lines form of `order`, filled with its lines in position order."""
    initial = [
        {
            "sku": line.sku,
            "quantity": line.quantity,
            "unit_price": quantize(line.unit_price, order.currency),
            "discount": quantize(line.discount, order.currency),
            "tax": quantize(line.tax, order.currency),
            "final_sale": line.final_sale,
        }
        for line in order.lines.order_by("position")
    ]
    return OrderLinesFormSet(data, initial=initial, prefix="lines")


class SwapForm(forms.Form):
    line_id = forms.TypedChoiceField(coerce=int, label="Line to replace")
    quantity = forms.IntegerField(min_value=1, label="Quantity")
    new_sku = forms.CharField(max_length=64, label="New SKU")
    new_unit_price = _amount_field(
        "New unit price", required=False, help_text="Empty keeps the current price."
    )
    reason = forms.CharField(max_length=2000, label="Swap reason")

    def __init__(self, *args, order: Order, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = {
            line.pk: line for line in order.lines.all() if line.quantity_cancellable
        }
        self.fields["line_id"].choices = [
            (line.pk, f"#{line.position} {line.sku} ({line.quantity_cancellable} left)")
            for line in self.lines.values()
        ]

    def clean(self):
        data = super().clean()
        line = self.lines.get(data.get("line_id"))
        if line and data.get("quantity", 0) > line.quantity_cancellable:
            self.add_error(
                "quantity",
                f"Only {line.quantity_cancellable} left of {line.sku}.",
            )
        return data
