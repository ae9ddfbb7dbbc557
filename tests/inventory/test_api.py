"""The inventory API: status codes, error bodies, and nothing written on bad input."""

import io

import pytest

from inventory import services
from inventory.models import (
    Asn,
    CycleCount,
    InventoryTransaction,
    Receipt,
    StockLevel,
    TransferOrder,
)
from oms.roles import Role

pytestmark = pytest.mark.django_db

Item = services.ItemQuantity


@pytest.fixture
def manager_api(api_client_for):
    return api_client_for(Role.INVENTORY_MANAGER)


def test_products_and_locations_are_created_and_listed(manager_api, api_client_for):
    created = manager_api.post(
        "/api/v1/products",
        {"sku": "MUG-1", "name": "Mug", "attributes": {"colour": "red"}},
        format="json",
    )
    assert created.status_code == 201, created.json()
    duplicate = manager_api.post(
        "/api/v1/products", {"sku": "MUG-1", "name": "Mug"}, format="json"
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["type"] == "duplicate_sku"
    location = manager_api.post(
        "/api/v1/locations",
        {
            "code": "ST-9",
            "name": "Store 9",
            "type": "store",
            "postal_code": "10117",
            "latitude": "52.520000",
            "longitude": "13.405000",
            "can_pickup": True,
        },
        format="json",
    )
    assert location.status_code == 201, location.json()

    csr = api_client_for(Role.CSR)
    assert csr.get("/api/v1/products?sku=MUG-1").json()["results"][0]["name"] == "Mug"
    assert csr.get("/api/v1/locations/ST-9").json()["latitude"] == "52.520000"
    assert csr.post("/api/v1/products", {"sku": "X", "name": "X"}).status_code == 403
    assert api_client_for(None).get("/api/v1/products").status_code in (401, 403)


def test_stock_filters_by_location_sku_and_availability(
    api_client_for, store, dc, make_product, receive, django_assert_max_num_queries
):
    shirt, cap = make_product("SHIRT"), make_product("CAP")
    receive(store, shirt, 3)
    receive(dc, shirt, 9)
    receive(store, cap, 1)
    services.reservation_create(
        location=store, product=cap, quantity=1, owner_type="o", owner_id="1"
    )
    api = api_client_for(Role.CSR)

    with django_assert_max_num_queries(4):
        everything = api.get("/api/v1/stock").json()["results"]
    assert len(everything) == 3
    in_store = api.get(f"/api/v1/stock?location={store.code}&in_stock=true").json()
    assert [(r["sku"], r["available"]) for r in in_store["results"]] == [("SHIRT", 3)]
    by_sku = api.get("/api/v1/stock?sku=SHIRT").json()["results"]
    assert {r["location"] for r in by_sku} == {store.code, dc.code}


def test_receipt_with_unknown_sku_or_zero_quantity_is_a_400_and_writes_nothing(
    integration_api, dc, product
):
    unknown = integration_api.post(
        "/api/v1/inventory/receipts",
        {
            "location": dc.code,
            "reference_type": "purchase_order",
            "reference": "PO-1",
            "items": [{"sku": "NOPE", "quantity": 1}],
        },
        format="json",
    )
    zero = integration_api.post(
        "/api/v1/inventory/receipts",
        {
            "location": "NOWHERE",
            "reference_type": "purchase_order",
            "reference": "PO-1",
            "items": [{"sku": product.sku, "quantity": 0}],
        },
        format="json",
    )

    assert unknown.status_code == 400
    assert "Unknown SKU NOPE." in str(unknown.json()["errors"]["items"])
    assert zero.status_code == 400
    assert zero.json()["errors"]["location"] == ["Unknown location NOWHERE."]
    assert "items" in zero.json()["errors"]
    assert not Receipt.objects.exists()
    assert not InventoryTransaction.objects.exists()


def test_asn_receive_over_receipt_then_close_twice(integration_api, dc, product):
    created = integration_api.post(
        "/api/v1/inventory/asns",
        {"location": dc.code, "items": [{"sku": product.sku, "quantity": 5}]},
        format="json",
    )
    assert created.status_code == 201, created.json()
    asn_id = created.json()["id"]

    over = integration_api.post(
        f"/api/v1/inventory/asns/{asn_id}/receive",
        {"items": [{"sku": product.sku, "quantity": 6}]},
        format="json",
    )
    assert over.status_code == 400
    assert over.json()["type"] == "over_receipt"
    partial = integration_api.post(
        f"/api/v1/inventory/asns/{asn_id}/receive",
        {"items": [{"sku": product.sku, "quantity": 2}]},
        format="json",
    )
    assert partial.status_code == 201
    first = integration_api.post(f"/api/v1/inventory/asns/{asn_id}/close", {})
    second = integration_api.post(f"/api/v1/inventory/asns/{asn_id}/close", {})

    assert first.status_code == 200
    assert first.json()["status"] == "closed"
    assert first.json()["lines"] == [{"sku": product.sku, "expected": 5, "received": 2}]
    assert second.status_code == 409
    assert second.json()["current_state"] == "closed"


def test_transfer_order_lifecycle_over_the_api(
    integration_api, dc, store, product, receive, django_assert_max_num_queries
):
    receive(dc, product, 9)
    created = integration_api.post(
        "/api/v1/inventory/transfer-orders",
        {
            "origin": dc.code,
            "destination": store.code,
            "items": [{"sku": product.sku, "quantity": 10}],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]

    shipped = integration_api.post(
        f"/api/v1/inventory/transfer-orders/{pk}/ship",
        {"carrier": "UPS", "tracking_number": "1Z"},
        format="json",
    )
    assert shipped.json()["lines"][0]["shipped"] == 9
    received = integration_api.post(
        f"/api/v1/inventory/transfer-orders/{pk}/receive",
        {"items": [{"sku": product.sku, "quantity": 9}]},
        format="json",
    )
    assert received.status_code == 201
    closed = integration_api.post(
        f"/api/v1/inventory/transfer-orders/{pk}/close", {"reason": "short"}
    )

    assert closed.json()["status"] == "closed"
    assert closed.json()["lines"][0] == {
        "sku": product.sku,
        "requested": 10,
        "shipped": 9,
        "received": 9,
        "cancelled": 1,
    }
    with django_assert_max_num_queries(8):
        listed = integration_api.get("/api/v1/inventory/transfer-orders?status=closed")
    assert [row["id"] for row in listed.json()["results"]] == [pk]
    again = integration_api.post(f"/api/v1/inventory/transfer-orders/{pk}/ship", {})
    assert again.status_code == 409


def test_adjustments_and_the_ledger(integration_api, store, product, receive):
    receive(store, product, 4)
    bad = integration_api.post(
        "/api/v1/inventory/adjustments",
        {"location": store.code, "sku": product.sku, "quantity": 2, "reason": "lost"},
        format="json",
    )
    good = integration_api.post(
        "/api/v1/inventory/adjustments",
        {"location": store.code, "sku": product.sku, "quantity": -1, "reason": "lost"},
        format="json",
    )

    assert bad.status_code == 400
    assert "quantity" in bad.json()["errors"]
    assert good.status_code == 201
    assert good.json()["on_hand_after"] == 3
    ledger = integration_api.get(
        f"/api/v1/inventory/transactions?sku={product.sku}&type=adjustment"
    ).json()["results"]
    assert [(row["quantity"], row["reason"]) for row in ledger] == [(-1, "lost")]


def test_cycle_count_over_the_api(
    integration_api, manager_api, store, make_location, product, receive
):
    receive(store, product, 6)
    created = integration_api.post(
        "/api/v1/inventory/cycle-counts",
        {"location": store.code, "skus": [product.sku]},
        format="json",
    )
    pk = created.json()["id"]
    submitted = integration_api.post(
        f"/api/v1/inventory/cycle-counts/{pk}/submit",
        {"items": [{"sku": product.sku, "quantity": 4}]},
        format="json",
    )
    assert submitted.json()["lines"] == [
        {"sku": product.sku, "counted": 4, "expected": 6, "discrepancy": -2}
    ]
    approved = manager_api.post(f"/api/v1/inventory/cycle-counts/{pk}/approve", {})
    listed = integration_api.get("/api/v1/inventory/cycle-counts?status=approved")
    assert [row["id"] for row in listed.json()["results"]] == [pk]
    assert approved.json()["status"] == "approved"
    assert StockLevel.objects.get(location=store, product=product).on_hand == 4
    rejected = manager_api.post(f"/api/v1/inventory/cycle-counts/{pk}/reject", {})
    assert rejected.status_code == 409

    inactive = make_location(active=False)
    refused = integration_api.post(
        "/api/v1/inventory/cycle-counts",
        {"location": inactive.code, "skus": [product.sku]},
        format="json",
    )
    assert refused.status_code == 409
    assert refused.json()["type"] == "location_inactive"
    assert CycleCount.objects.count() == 1


def test_sync_by_json_rows_and_by_csv_file(integration_api, store, product):
    by_rows = integration_api.post(
        "/api/v1/inventory/sync",
        {
            "rows": [
                {"location": store.code, "sku": product.sku, "quantity": 7},
                {"location": store.code, "sku": "NOPE", "quantity": 1},
            ]
        },
        format="json",
    )
    assert by_rows.status_code == 201, by_rows.json()
    assert (by_rows.json()["rows_changed"], by_rows.json()["rows_rejected"]) == (1, 1)

    upload = io.BytesIO(
        f"location,sku,quantity\n{store.code},{product.sku},3\n".encode()
    )
    upload.name = "erp.csv"
    by_file = integration_api.post(
        "/api/v1/inventory/sync", {"file": upload}, format="multipart"
    )
    assert by_file.status_code == 201, by_file.json()
    assert StockLevel.objects.get(location=store, product=product).on_hand == 3

    bad = io.BytesIO(b"sku;qty\n")
    bad.name = "bad.csv"
    refused = integration_api.post("/api/v1/inventory/sync", {"file": bad})
    assert refused.status_code == 400
    assert refused.json()["type"] == "invalid_csv"


def test_store_associates_act_only_at_their_locations(
    make_user, store, dc, product, receive
):
    from rest_framework.test import APIClient

    associate = make_user(Role.STORE_ASSOCIATE)
    services.location_assign_staff(user=associate, location=store)
    api = APIClient()
    api.force_authenticate(associate)

    def adjust(location):
        return api.post(
            "/api/v1/inventory/adjustments",
            {
                "location": location.code,
                "sku": product.sku,
                "quantity": 1,
                "reason": "found",
            },
            format="json",
        )

    assert adjust(store).status_code == 201
    refused = adjust(dc)
    assert refused.status_code == 403
    assert refused.json()["type"] == "location_not_assigned"
    assert not StockLevel.objects.filter(location=dc).exists()
    assert Asn.objects.count() == TransferOrder.objects.count() == 0


def test_text_postgresql_cannot_store_is_a_client_error_not_a_crash(
    integration_api, store
):
    assert integration_api.get("/api/v1/stock?sku=A%00B").status_code == 200
    refused = integration_api.post(
        "/api/v1/inventory/adjustments",
        {"location": store.code, "sku": "A\x00B", "quantity": 1, "reason": "found"},
        format="json",
    )
    assert refused.status_code == 400
    assert "sku" in refused.json()["errors"]
