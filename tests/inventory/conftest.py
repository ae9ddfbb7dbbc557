"""Inventory fixtures: locations, products and stock set up through the services,
as a user would."""

import itertools

import pytest

from inventory import services
from inventory.models import Location, Product, Receipt

_numbers = itertools.count(1)


@pytest.fixture
def make_location(db):
    def make(code: str | None = None, **fields) -> Location:
        fields.setdefault("name", f"Location {code}")
        fields.setdefault("type", Location.Type.STORE)
        return services.location_create(code=code or f"LOC-{next(_numbers)}", **fields)

    return make


@pytest.fixture
def make_product(db):
    def make(sku: str | None = None, **fields) -> Product:
        sku = sku or f"SKU-{next(_numbers)}"
        return services.product_create(sku=sku, name=fields.pop("name", sku), **fields)

    return make


@pytest.fixture
def receive():
    """receive(location, product, quantity) → units received against a PO."""

    def put(location, product, quantity: int, reference: str = "PO-1"):
        return services.items_receive(
            location=location,
            reference_type=Receipt.ReferenceType.PURCHASE_ORDER,
            reference=reference,
            items=[services.ItemQuantity(product, quantity)],
        )

    return put


@pytest.fixture
def store(make_location):
    return make_location("STORE-1", latitude="52.370216", longitude="4.895168")


@pytest.fixture
def dc(make_location):
    return make_location("DC-1", type=Location.Type.DC)


@pytest.fixture
def product(make_product):
    return make_product("TSHIRT-M", name="T-shirt M")
