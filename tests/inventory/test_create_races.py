"""Two clients creating the same product or location at once: the second one is
told it exists (409), never a server error."""

import threading
import time

import pytest
from django.db import close_old_connections, connection, transaction

from inventory import services
from inventory.models import Location, Product
from oms.roles import Role

pytestmark = pytest.mark.django_db(transaction=True)

CASES = {
    "product": (
        "/api/v1/products",
        {"sku": "MUG-1", "name": "Mug"},
        lambda: services.product_create(sku="MUG-1", name="Mug"),
        "A product with SKU MUG-1 exists.",
    ),
    "location": (
        "/api/v1/locations",
        {"code": "ST-9", "name": "Store 9", "type": "store"},
        lambda: services.location_create(
            code="ST-9", name="Store 9", type=Location.Type.STORE
        ),
        "A location with code ST-9 exists.",
    ),
}


@pytest.mark.parametrize("kind", CASES)
def test_a_create_racing_an_uncommitted_one_gets_a_conflict(api_client_for, kind):
    if connection.vendor != "postgresql":
        pytest.skip("the unique index decides the race; PostgreSQL only")
    url, payload, create_first, message = CASES[kind]
    manager_api = api_client_for(Role.INVENTORY_MANAGER)
    inserted = threading.Event()

    def first_client() -> None:
        try:
            with transaction.atomic():
                create_first()
                inserted.set()
                # The second client passes the exists() check meanwhile and waits
                # on the unique index until this commits.
                time.sleep(1)
        finally:
            close_old_connections()
            connection.close()

    thread = threading.Thread(target=first_client)
    thread.start()
    assert inserted.wait(10)
    response = manager_api.post(url, payload, format="json")
    thread.join()

    assert response.status_code == 409, response.content
    assert response.json()["detail"] == message
    assert Product.objects.count() + Location.objects.count() == 1
