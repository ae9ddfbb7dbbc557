"""Orders fixtures: a channel, products and a store set up through the services,
and `place_order(...)` taking an order in as an integration would."""

import itertools
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory import services as inventory_services
from inventory.models import Location
from orders import services
from orders.intake import LineInput, OrderInput, order_create
from orders.models import Order

_numbers = itertools.count(1)


@pytest.fixture
def channel(db):
    return services.channel_create(code="web", name="Web shop")


@pytest.fixture
def products(db):
    return {
        sku: inventory_services.product_create(sku=sku, name=f"Product {sku}")
        for sku in ("SKU-A", "SKU-B", "SKU-C", "SKU-D")
    }


@pytest.fixture
def store(db):
    return inventory_services.location_create(
        code="STORE-1",
        name="Main street store",
        type=Location.Type.STORE,
        can_pickup=True,
        can_ship=True,
    )


def order_input(**overrides) -> OrderInput:
    """Two lines: 2 × SKU-A at 10.00 and 1 × SKU-B at 25.00 with 10% tax, 5.00
    shipping + 0.50 tax: total 45.00 + 4.50 + 5.50 = 55.00."""
    fields = {
        "channel": "web",
        "external_id": f"EXT-{next(_numbers)}",
        "currency": "USD",
        "payment_token": "tok_approve",
        "customer_name": "Ada Lovelace",
        "customer_email": "ada@example.com",
        "shipping_address": {"address_line1": "1 Analytical Row", "city": "London"},
        "shipping_method": "standard",
        "shipping_price": Decimal("5.00"),
        "shipping_tax": Decimal("0.50"),
        "lines": [
            LineInput(
                sku="SKU-A",
                quantity=2,
                unit_price=Decimal("10.00"),
                tax=Decimal("2.00"),
            ),
            LineInput(
                sku="SKU-B",
                quantity=1,
                unit_price=Decimal("25.00"),
                tax=Decimal("2.50"),
            ),
        ],
    }
    fields.update(overrides)
    return OrderInput(**fields)


@pytest.fixture
def place_order(channel, products, django_capture_on_commit_callbacks):
    def place(**overrides):
        with django_capture_on_commit_callbacks(execute=True):
            order, _ = order_create(data=order_input(**overrides))
        return order

    return place


@pytest.fixture
def opened_order(place_order):
    """An order past its grace period, approved and waiting in the brokering queue."""

    def make(**overrides):
        order = place_order(**overrides)
        # The grace period passes (the clock, not a state change).
        Order.objects.filter(pk=order.pk).update(grace_period_ends_at=timezone.now())
        services.order_open(order_id=order.pk)
        order.refresh_from_db()
        return order

    return make
