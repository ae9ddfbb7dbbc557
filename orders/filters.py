"""The order list's filters and search, shared by the page and the API."""

import django_filters
from django.db.models import Exists, OuterRef, Q

from orders.models import Order, OrderLine


class OrderFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Order.Status.choices)
    queue = django_filters.ChoiceFilter(
        choices=[(value, label) for value, label in Order.Queue.choices if value]
    )
    order_type = django_filters.ChoiceFilter(choices=Order.Type.choices)
    channel = django_filters.CharFilter(field_name="channel__code")
    location = django_filters.CharFilter(
        field_name="pickup_location__code", label="Location code"
    )
    placed_from = django_filters.DateFilter(
        field_name="placed_at", lookup_expr="date__gte"
    )
    placed_to = django_filters.DateFilter(
        field_name="placed_at", lookup_expr="date__lte"
    )
    returned = django_filters.BooleanFilter(
        method="fully_returned", label="Fully returned"
    )
    partly_returned = django_filters.BooleanFilter(
        method="partly_returned_filter", label="Partly returned"
    )
    q = django_filters.CharFilter(
        method="search", label="Number, email, external id or SKU"
    )

    class Meta:
        model = Order
        fields: list[str] = []

    def fully_returned(self, queryset, name, value):
        """The `returned` state (kept beside `status` for existing clients)."""
        if value is None:
            return queryset
        returned = Q(status=Order.Status.RETURNED)
        return queryset.filter(returned) if value else queryset.exclude(returned)

    def partly_returned_filter(self, queryset, name, value):
        """Completed orders with some units back and the rest with the customer."""
        if value is None:
            return queryset
        partly = Q(status=Order.Status.COMPLETED) & Exists(
            OrderLine.objects.filter(order=OuterRef("pk"), quantity_returned__gt=0)
        )
        return queryset.filter(partly) if value else queryset.exclude(partly)

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        has_sku = Exists(OrderLine.objects.filter(order=OuterRef("pk"), sku=value))
        return queryset.filter(
            Q(number__iexact=value)
            | Q(customer_email__iexact=value)
            | Q(external_id=value)
            | has_sku
        )
