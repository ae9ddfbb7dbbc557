"""Read queries of the returns app, shared by the API and the pages."""

from collections.abc import Mapping
from datetime import date

from django.db.models import Prefetch, QuerySet
from django.utils.dateparse import parse_date

from inventory.selectors import locations_for_user
from oms.errors import NotFound
from oms.roles import Role, has_role
from orders.models import Order
from orders.services import order_account, order_credit_account
from payments.models import PaymentTransaction
from returns.models import Return, ReturnLine, ReturnReason, ReturnStatus


def returns_visible_to(*, user) -> QuerySet[Return]:
    """All returns for CSRs, integrations and admins; a store associate sees those
    received at their locations."""
    queryset = Return.objects.select_related(
        "order", "channel", "location", "replacement_order"
    )
    if has_role(user, Role.CSR, Role.INTEGRATION):
        return queryset
    return queryset.filter(location__in=locations_for_user(user=user))


def _day(value) -> date | None:
    try:
        return parse_date(value) if value else None
    except ValueError:
        return None


def return_list(*, user, filters: Mapping | None = None) -> QuerySet[Return]:
    """Returns newest first, filtered by status, location code, reason (any item),
    order number and creation date (`created_from`/`created_to`, YYYY-MM-DD).
    Unknown filter values match nothing rather than everything."""
    queryset = returns_visible_to(user=user).order_by("-id")
    filters = filters or {}
    if status := filters.get("status"):
        queryset = queryset.filter(status=status if status in ReturnStatus else "-")
    if location := filters.get("location"):
        queryset = queryset.filter(location__code=location)
    if reason := filters.get("reason"):
        queryset = queryset.filter(
            lines__reason=reason if reason in ReturnReason else "-"
        ).distinct()
    if order := filters.get("order"):
        queryset = queryset.filter(order__number=order)
    if created_from := _day(filters.get("created_from")):
        queryset = queryset.filter(created_at__date__gte=created_from)
    if created_to := _day(filters.get("created_to")):
        queryset = queryset.filter(created_at__date__lte=created_to)
    return queryset


def return_get(*, user, return_id: int) -> Return:
    """One return with its lines, as the user may see it (404 otherwise)."""
    ret = (
        returns_visible_to(user=user)
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=ReturnLine.objects.select_related("order_line").order_by("id"),
            )
        )
        .filter(pk=return_id)
        .first()
    )
    if ret is None:
        raise NotFound(f"No return {return_id}.", code="return_not_found")
    return ret


def return_refund_transactions(*, return_request: Return) -> list[PaymentTransaction]:
    """The refund(s) made for this return (the payments reference is the RMA
    number), on the order's payment and, for a replacement order, on the payment
    holding its exchange credit; none for a blind return or one that failed its
    checks."""
    if return_request.order_id is None:
        return []
    order = return_request.order
    accounts = [
        account
        for account in (order_account(order), order_credit_account(order))
        if account is not None
    ]
    return list(
        PaymentTransaction.objects.filter(
            account__in=accounts,
            kind=PaymentTransaction.Kind.REFUND,
            reference=return_request.rma_number,
        ).order_by("id")
    )


def order_returns(*, order: Order) -> QuerySet[Return]:
    return order.returns.select_related("location", "replacement_order").order_by("-id")


def order_replaced_by_return(*, order: Order) -> Return | None:
    """The return whose exchange created `order` (a replacement order), if any."""
    return (
        Return.objects.select_related("order").filter(replacement_order=order).first()
    )


def refund_failures_count() -> int:
    """Refunds of returns that failed after their retries (dashboard)."""
    return PaymentTransaction.objects.filter(
        kind=PaymentTransaction.Kind.REFUND,
        status=PaymentTransaction.Status.FAILED,
        reference__startswith="RMA-",
    ).count()
