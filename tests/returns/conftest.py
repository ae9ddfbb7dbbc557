# ruff: noqa: F811  (fixtures imported from the orders tests, then requested)
"""Returns fixtures: an order shipped from a London store, built through the
services as it happens in a shop (intake → open → brokering → accept → ship)."""

import pytest

from inventory import services as inventory_services
from orders.routing import services as routing_services
from orders.routing.models import FulfillmentRequest
from returns.services import ReturnItemInput
from tests.orders.conftest import (  # noqa: F401  (fixtures)
    channel,
    opened_order,
    place_order,
    products,
    store,
)
from tests.orders.routing.conftest import (  # noqa: F401  (fixtures)
    default_rules,
    london_order,
    make_location,
    places,
    put_stock,
    run_brokering,
)


@pytest.fixture
def ship_order(london_order, places, products, put_stock, run_brokering):
    """An order of 2 × SKU-A (10.00 + 1.00 tax each) and 1 × SKU-B (25.00 + 2.50
    tax), shipping 5.00 + 0.50: 55.00 captured, shipped from the near store."""

    def make(**overrides):
        put_stock(places["near"], products["SKU-A"], 2)
        put_stock(places["near"], products["SKU-B"], 1)
        order = london_order(**overrides)
        run_brokering()
        request = FulfillmentRequest.objects.get(order=order)
        routing_services.fulfillment_request_accept(request=request, actor=None)
        routing_services.fulfillment_request_ship(
            request=request, actor=None, carrier="DHL", tracking_number="T1"
        )
        order.refresh_from_db()
        return order

    return make


@pytest.fixture
def shipped_order(ship_order):
    return ship_order()


@pytest.fixture
def associate(make_user, places):
    user = make_user("store_associate", username="sam")
    inventory_services.location_assign_staff(user=user, location=places["near"])
    return user


def item(order, sku, quantity=1, *, condition="resellable", reason="size"):
    line = order.lines.get(sku=sku)
    return ReturnItemInput(
        order_line_id=line.pk, quantity=quantity, reason=reason, condition=condition
    )
