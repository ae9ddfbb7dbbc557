from django import forms

from inventory import selectors, services
from inventory.models import InventoryTransaction, Location, Product


def _products_from_lines(text: str, *, with_quantities: bool) -> list:
    """Parse one `SKU` or `SKU, quantity` per line; unknown SKUs are form errors."""
    parsed, errors = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        parts = [part.strip() for part in raw.replace(";", ",").split(",")]
        if with_quantities:
            if (
                len(parts) != 2
                or not (parts[1].isascii() and parts[1].isdigit())
                or not 0 < int(parts[1]) <= services.MAX_UNITS
            ):
                errors.append(f"Line {number}: write “SKU, quantity” (quantity > 0).")
                continue
            parsed.append((parts[0], int(parts[1])))
        else:
            parsed.append((parts[0], None))
    products = selectors.products_by_sku(skus=[sku for sku, _ in parsed])
    unknown = sorted({sku for sku, _ in parsed if sku not in products})
    if unknown:
        errors.append(f"Unknown SKU: {', '.join(unknown)}.")
    if errors:
        raise forms.ValidationError(errors)
    if not parsed:
        raise forms.ValidationError("Give at least one SKU.")
    if with_quantities:
        return [services.ItemQuantity(products[sku], q) for sku, q in parsed]
    return [products[sku] for sku, _ in parsed]


class LocationChoiceField(forms.ModelChoiceField):
    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Location.objects.filter(active=True))
        kwargs.setdefault("to_field_name", "code")
        super().__init__(**kwargs)

    def label_from_instance(self, obj) -> str:
        return f"{obj.code} · {obj.name}"


class TransferOrderForm(forms.Form):
    origin = LocationChoiceField(label="From (origin)")
    destination = LocationChoiceField(label="To (destination)")
    expected_at = forms.DateField(
        label="Expected by",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    items = forms.CharField(
        label="Items",
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="One “SKU, quantity” per line.",
    )

    def clean_items(self):
        return _products_from_lines(self.cleaned_data["items"], with_quantities=True)


class AdjustmentForm(forms.Form):
    location = LocationChoiceField(label="Location", queryset=Location.objects.all())
    sku = forms.CharField(label="SKU", max_length=64)
    quantity = forms.IntegerField(
        label="Change of units on hand",
        min_value=-services.MAX_UNITS,
        max_value=services.MAX_UNITS,
        help_text="Negative takes units out (damaged, lost); positive adds (found).",
    )
    reason = forms.ChoiceField(
        label="Reason",
        choices=[(r.value, r.label) for r in services.ADJUSTMENT_REASONS],
    )
    note = forms.CharField(label="Note", max_length=500, required=False)

    def clean_sku(self) -> Product:
        sku = self.cleaned_data["sku"].strip()
        product = selectors.products_by_sku(skus=[sku]).get(sku)
        if product is None:
            raise forms.ValidationError(f"Unknown SKU {sku}.")
        return product


class CycleCountForm(forms.Form):
    location = LocationChoiceField(label="Location", queryset=Location.objects.all())
    skus = forms.CharField(
        label="Products to count",
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="One SKU per line.",
    )
    note = forms.CharField(label="Note", max_length=500, required=False)

    def clean_skus(self):
        return _products_from_lines(self.cleaned_data["skus"], with_quantities=False)


class StockSyncForm(forms.Form):
    file = forms.FileField(
        label="CSV file", help_text="Header: location,sku,quantity (absolute on hand)."
    )
    dry_run = forms.BooleanField(
        label="Dry run: only show what would change", required=False, initial=True
    )


LEDGER_TYPES = [("", "any")] + list(InventoryTransaction.Type.choices)
