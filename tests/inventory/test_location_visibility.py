"""A store associate sees the ledger, receipts, ASNs, transfer orders and cycle
counts of their own stores only, by page and by API; everyone else sees all."""

from types import SimpleNamespace

import pytest
from django.test import Client

from inventory import services
from inventory.models import CycleCount, TransferOrder
from oms.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def stores(make_location, make_product, receive):
    """Two stores with stock, a transfer order, an ASN and a cycle count each; a
    third transfer order from the DC to the first store."""
    home, away, dc = make_location("HOME"), make_location("AWAY"), make_location("DC")
    product = make_product("TEE")
    for location in (home, away, dc):
        receive(location, product, 10, reference=f"PO-{location.code}")
    item = [services.ItemQuantity(product, 1)]
    documents = {}
    for location, other in ((home, away), (away, home)):
        documents[location.code] = {
            "transfer_order": services.transfer_order_create(
                origin=location, destination=other, items=item
            ),
            "asn": services.asn_create(location=location, items=item),
            "cycle_count": services.cycle_count_create(
                location=location, products=[product]
            ),
        }
    services.transfer_order_create(origin=dc, destination=home, items=item)
    away_to_dc = services.transfer_order_create(origin=away, destination=dc, items=item)
    return SimpleNamespace(home=home, documents=documents, away_to_dc=away_to_dc)


@pytest.fixture
def associate(make_user, stores):
    user = make_user(Role.STORE_ASSOCIATE)
    services.location_assign_staff(user=user, location=stores.home)
    return user


def _api(client, path) -> list[dict]:
    response = client.get(path)
    assert response.status_code == 200
    return response.json()["results"]


def test_the_associate_lists_only_documents_of_their_store(
    api_client_for, associate, stores
):
    client = api_client_for(None)
    client.force_authenticate(associate)

    ledger = _api(client, "/api/v1/inventory/transactions")
    receipts = _api(client, "/api/v1/inventory/receipts")
    asns = _api(client, "/api/v1/inventory/asns")
    counts = _api(client, "/api/v1/inventory/cycle-counts")
    transfers = _api(client, "/api/v1/inventory/transfer-orders")

    assert {row["location"] for row in ledger} == {"HOME"}
    assert {row["location"] for row in receipts} == {"HOME"}
    assert {row["location"] for row in asns} == {"HOME"}
    assert {row["location"] for row in counts} == {"HOME"}
    # Leaving from or arriving at their store: not AWAY→DC.
    assert sorted((row["origin"], row["destination"]) for row in transfers) == [
        ("AWAY", "HOME"),
        ("DC", "HOME"),
        ("HOME", "AWAY"),
    ]


def test_other_roles_list_every_location(api_client_for, stores):
    for role in (Role.CSR, Role.INVENTORY_MANAGER, Role.INTEGRATION):
        client = api_client_for(role)

        ledger = _api(client, "/api/v1/inventory/transactions")
        counts = _api(client, "/api/v1/inventory/cycle-counts")

        assert {row["location"] for row in ledger} == {"HOME", "AWAY", "DC"}
        assert {row["location"] for row in counts} == {"HOME", "AWAY"}


def test_another_stores_documents_are_not_found_by_api(
    api_client_for, associate, stores
):
    client = api_client_for(None)
    client.force_authenticate(associate)
    away = stores.documents["AWAY"]
    away_count, between_others = away["cycle_count"], stores.away_to_dc

    answers = [
        client.get(f"/api/v1/inventory/asns/{away['asn'].pk}"),
        client.post(
            f"/api/v1/inventory/asns/{away['asn'].pk}/receive",
            {"items": [{"sku": "TEE", "quantity": 1}]},
            format="json",
        ),
        client.get(f"/api/v1/inventory/cycle-counts/{away_count.pk}"),
        client.post(
            f"/api/v1/inventory/cycle-counts/{away_count.pk}/submit",
            {"items": [{"sku": "TEE", "quantity": 1}]},
            format="json",
        ),
        client.get(f"/api/v1/inventory/transfer-orders/{between_others.pk}"),
        client.post(f"/api/v1/inventory/transfer-orders/{between_others.pk}/ship"),
    ]
    own_transfer = client.get(
        f"/api/v1/inventory/transfer-orders/{away['transfer_order'].pk}"
    )

    assert [answer.status_code for answer in answers] == [404] * len(answers)
    assert answers[0].json()["type"] == "not_found"
    assert own_transfer.status_code == 200  # AWAY→HOME arrives at their store
    assert CycleCount.objects.get(pk=away_count.pk).status == "open"
    assert TransferOrder.objects.get(pk=between_others.pk).shipped_at is None


def test_another_stores_documents_are_not_found_by_page(associate, stores):
    client = Client()
    client.force_login(associate)
    home, away = stores.documents["HOME"], stores.documents["AWAY"]

    pages = {
        path: client.get(path).status_code
        for path in (
            f"/backoffice/inventory/asns/{away['asn'].pk}/",
            f"/backoffice/inventory/cycle-counts/{away['cycle_count'].pk}/",
            f"/backoffice/inventory/asns/{home['asn'].pk}/",
            f"/backoffice/inventory/cycle-counts/{home['cycle_count'].pk}/",
        )
    }
    submit = client.post(
        f"/backoffice/inventory/cycle-counts/{away['cycle_count'].pk}/submit/"
    )
    ledger = client.get("/backoffice/inventory/ledger/")
    counts = client.get("/backoffice/inventory/cycle-counts/")

    assert list(pages.values()) == [404, 404, 200, 200]
    assert submit.status_code == 404
    assert [row.location.code for row in ledger.context["page"]] == ["HOME"]
    assert [count.location.code for count in counts.context["page"]] == ["HOME"]
