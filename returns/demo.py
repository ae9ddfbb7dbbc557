"""Returns demo data (after the orders and routing demos): the request the routing
demo accepted is shipped, one of its units comes back damaged, and a blind return
of an order from an external shop. Idempotent."""

from decimal import Decimal

from inventory.models import Location, Product
from orders.models import Channel
from orders.routing import services as routing_services
from orders.routing.models import FulfillmentRequest
from returns.models import Return
from returns.services import ReturnItemInput, return_create

BLIND_RETURN_ID = "DEMO-BLIND-1"


def _order_return(stdout) -> None:
    if Return.objects.filter(order__isnull=False).exists():
        return
    request = (
        FulfillmentRequest.objects.filter(status__in=["accepted", "completed"])
        .select_related("order", "location")
        .order_by("id")
        .first()
    )
    if request is None:
        stdout.write("returns: no accepted request to ship; run the routing demo first")
        return
    if request.status == "accepted":
        routing_services.fulfillment_request_ship(
            request=request, actor=None, carrier="DHL", tracking_number="DEMO-1"
        )
    line = request.order.lines.filter(quantity_fulfilled__gt=0).first()
    if line is None:
        return
    ret, _ = return_create(
        order=request.order,
        location=request.location,
        actor=None,
        items=[
            ReturnItemInput(
                order_line_id=line.pk,
                quantity=1,
                reason="damaged",
                condition="damaged",
            )
        ],
    )
    stdout.write(f"returns: {ret.rma_number} {ret.status} for {request.order.number}")


def _blind_return(stdout) -> None:
    channel = Channel.objects.order_by("id").first()
    location = Location.objects.order_by("id").first()
    product = Product.objects.order_by("id").first()
    if not (channel and location and product):
        return
    ret, created = return_create(
        channel=channel,
        external_order_id="SHOP-1001",
        external_return_id=BLIND_RETURN_ID,
        currency="USD",
        location=location,
        actor=None,
        items=[
            ReturnItemInput(
                sku=product.sku,
                quantity=1,
                unit_price=Decimal("19.99"),
                reason="changed_mind",
                condition="resellable",
            )
        ],
    )
    if created:
        stdout.write(f"returns: blind return {ret.rma_number} of SHOP-1001")


def seed(stdout) -> None:
    _order_return(stdout)
    _blind_return(stdout)
