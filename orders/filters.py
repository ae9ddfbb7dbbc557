"""The order list's filters and search, shared by the page and the API.

Every filter is a condition one index answers (see `Order.Meta.indexes`), so a
filtered page of a million orders reads only the rows it shows."""

from datetime import date, datetime, time, timedelta

import django_filters
from django.db.models import BooleanField, Exists, F, Func, OuterRef, Q, Subquery
from django.utils import timezone

from inventory.models import Location
from orders.models import Channel, Order, OrderLine
from orders.workflows.config import order_type_choices


class IdInSubquery(Func):
    """`id = ANY(ARRAY(subquery))` on PostgreSQL: the subquery runs once, on its
    own indexes, and the page then walks the primary key through those ids only.
    (As `id IN (subquery)` the planner, blind to how few ids a union yields,
    walks the whole primary key backwards to fill a page.) Elsewhere `IN`."""

    arg_joiner = " = ANY(ARRAY"
    template = "%(expressions)s)"
    output_field = BooleanField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler, connection, arg_joiner=" IN ", template="%(expressions)s"
        )


def _id_of(model, code: str) -> Subquery:
    return Subquery(model.objects.filter(code=code).values("id")[:1])


def day_start(day) -> datetime:
    """Midnight at the start of `day` in the shop's time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


class OrderFilter(django_filters.FilterSet):
    # No DISTINCT (the default of a multiple-choice filter): rows cannot repeat
    # here, and DISTINCT would sort every matching order before the first page.
    status = django_filters.MultipleChoiceFilter(
        choices=Order.Status.choices, distinct=False
    )
    queue = django_filters.ChoiceFilter(
        choices=[(value, label) for value, label in Order.Queue.choices if value]
    )
    order_type = django_filters.ChoiceFilter(choices=order_type_choices)
    channel = django_filters.CharFilter(method="by_channel_code")
    location = django_filters.CharFilter(
        method="by_location_code", label="Location code"
    )
    # Whole days in the shop's time zone, as a range on the column itself (a
    # `placed_at::date` comparison could not use the index).
    placed_from = django_filters.DateFilter(method="placed_from_day")
    placed_to = django_filters.DateFilter(method="placed_to_day")
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

    # A code is turned into its id by a subquery run once, so the (channel, id) or
    # (pickup_location, id) index serves the page; as a join, the planner walks
    # every order and checks its location.
    def by_channel_code(self, queryset, name, value):
        return queryset.filter(channel=_id_of(Channel, value))

    def by_location_code(self, queryset, name, value):
        return queryset.filter(pickup_location=_id_of(Location, value))

    # A date range lists newest placed first, walking the placed_at index: in id
    # order the planner would walk the primary key from the newest order back to
    # the range (ids grow with placed_at, which it cannot know).
    def placed_from_day(self, queryset, name, value):
        return queryset.filter(placed_at__gte=day_start(value)).order_by(
            "-placed_at", "-id"
        )

    def placed_to_day(self, queryset, name, value):
        if value < date.max:  # the calendar's last day has no day after it
            queryset = queryset.filter(
                placed_at__lt=day_start(value + timedelta(days=1))
            )
        return queryset.order_by("-placed_at", "-id")

    def search(self, queryset, name, value):
        """Orders whose number, customer e-mail (any case), external id or a line's
        SKU is `value`. The order columns and the lines are looked up through
        their own indexes and the ids joined: one OR over both tables would
        scan every order."""
        value = value.strip()
        if not value:
            return queryset
        # No ordering inside: the models' default orderings would sort every
        # matching line by a column outside the (sku, order) index.
        by_order = (
            Order.objects.filter(
                Q(number=value.upper())
                | Q(customer_email__iexact=value)
                | Q(external_id=value)
            )
            .order_by()
            .values("id")
        )
        by_sku = OrderLine.objects.filter(sku=value).order_by().values("order_id")
        return queryset.filter(IdInSubquery(F("id"), Subquery(by_order.union(by_sku))))
