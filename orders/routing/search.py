"""Global search: a shipment's tracking number or a fulfillment request's number
leads to the request, for the users who may see it."""

from django.db.models import Q

from oms.roles import Role, has_role
from orders.routing.models import Shipment
from orders.routing.selectors import fulfillment_requests_visible_to

MAX_HITS = 20


def search_hits(*, query: str, user) -> list[dict]:
    if not has_role(user, Role.STORE_ASSOCIATE, Role.CSR, Role.INVENTORY_MANAGER):
        return []
    # Two lookups on their own indexes: as one OR across both tables, the
    # database would read every request.
    shipped = Shipment.objects.filter(tracking_number=query).values_list(
        "request_id", flat=True
    )[:MAX_HITS]
    requests = (
        fulfillment_requests_visible_to(user=user)
        .filter(Q(number=query.upper()) | Q(pk__in=list(shipped)))
        .select_related("location")
        .order_by("-id")[:MAX_HITS]
    )
    return [
        {
            "kind": "Fulfillment request",
            "label": request.number,
            "detail": f"{request.location.code} · {request.get_status_display()}",
            "url": request.get_absolute_url(),
        }
        for request in requests
    ]
