"""Routing and fulfillment API: who sees which requests, the store and WMS actions,
rule sets, runs, queues and queue moves."""

import pytest

from inventory import services as inventory_services
from inventory.models import Reservation
from orders.models import Order
from orders.routing.models import FulfillmentRequest, RoutingRuleSet

pytestmark = pytest.mark.django_db


@pytest.fixture
def routed_request(london_order, places, products, put_stock, run_brokering):
    for sku in ("SKU-A", "SKU-B"):
        put_stock(places["near"], products[sku], 5)
        put_stock(places["far"], products[sku], 5)
    order = london_order()
    run_brokering()
    return FulfillmentRequest.objects.get(order=order)


@pytest.fixture
def associate_at(make_user):
    def make(location):
        from rest_framework.test import APIClient

        user = make_user("store_associate")
        inventory_services.location_assign_staff(user=user, location=location)
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


def test_a_store_associate_sees_and_acts_only_on_their_locations_requests(
    routed_request, places, associate_at
):
    mine = associate_at(places["near"])
    other = associate_at(places["far"])
    url = f"/api/v1/fulfillment-requests/{routed_request.pk}"

    assert [
        r["number"] for r in mine.get("/api/v1/fulfillment-requests").json()["results"]
    ] == [routed_request.number]
    assert other.get("/api/v1/fulfillment-requests").json()["results"] == []
    assert other.get(url).status_code == 404
    response = other.post(f"{url}/accept")
    assert response.status_code == 404
    assert response.json()["status"] == 404
    routed_request.refresh_from_db()
    assert routed_request.status == "assigned"

    assert mine.post(f"{url}/accept").json()["status"] == "accepted"


def test_a_wms_acknowledges_rejects_a_line_and_confirms_shipment(
    routed_request, integration_api
):
    url = f"/api/v1/fulfillment-requests/{routed_request.pk}"
    order = routed_request.order
    line_b = order.lines.get(sku="SKU-B")

    assert integration_api.post(f"{url}/accept").status_code == 200
    body = integration_api.post(
        f"{url}/reject",
        {"reason": "Damaged", "lines": [{"order_line_id": line_b.pk, "quantity": 1}]},
        format="json",
    ).json()
    assert [line["quantity_rejected"] for line in body["lines"]] == [0, 1]
    response = integration_api.post(
        f"{url}/ship", {"carrier": "DHL", "tracking_number": "JD0001"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "completed"
    assert response.json()["shipments"][0]["tracking_number"] == "JD0001"

    again = integration_api.post(
        f"{url}/ship", {"carrier": "DHL", "tracking_number": "JD0002"}, format="json"
    )
    assert again.status_code == 409
    order.refresh_from_db()
    assert order.queue == "rejected"


def test_ship_without_tracking_is_a_400_and_changes_nothing(
    routed_request, integration_api
):
    url = f"/api/v1/fulfillment-requests/{routed_request.pk}"
    integration_api.post(f"{url}/accept")

    response = integration_api.post(f"{url}/ship", {"carrier": "DHL"}, format="json")

    assert response.status_code == 400
    assert "tracking_number" in response.json()["errors"]
    assert Reservation.objects.filter(owner_type="order_line").count() == 2


def test_rule_sets_are_admin_only_and_validated(admin_api, api_client_for):
    csr = api_client_for("csr")
    assert csr.get("/api/v1/routing/rule-sets").status_code == 403

    bad = admin_api.post(
        "/api/v1/routing/rule-sets",
        {"name": "Bad", "queues": ["pre_order"], "sort_criteria": ["distance"]},
        format="json",
    )
    assert bad.status_code == 400
    assert "queues" in bad.json()["errors"]

    created = admin_api.post(
        "/api/v1/routing/rule-sets",
        {
            "name": "DCs first",
            "queues": ["brokering"],
            "location_types": ["dc"],
            "sort_criteria": ["priority", "distance"],
            "split_policy": "never",
            "run_every_minutes": 10,
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    rule_set = RoutingRuleSet.objects.get(name="DCs first")
    assert rule_set.periodic_task.interval.every == 10
    patched = admin_api.patch(
        f"/api/v1/routing/rule-sets/{rule_set.pk}", {"active": False}, format="json"
    )
    assert patched.json()["active"] is False
    assert (
        admin_api.delete(f"/api/v1/routing/rule-sets/{rule_set.pk}").status_code == 204
    )


def test_start_a_run_and_read_its_progress(
    london_order,
    places,
    products,
    put_stock,
    api_client_for,
    default_rules,
    django_capture_on_commit_callbacks,
):
    put_stock(places["near"], products["SKU-A"], 5)
    put_stock(places["near"], products["SKU-B"], 5)
    london_order()
    csr = api_client_for("csr")

    with django_capture_on_commit_callbacks(execute=True):
        started = csr.post(
            "/api/v1/brokering-runs", {"rule_set_id": default_rules.pk}, format="json"
        )

    assert started.status_code == 202
    detail = csr.get(f"/api/v1/brokering-runs/{started.json()['id']}").json()
    assert (detail["status"], detail["orders_routed"], detail["progress_percent"]) == (
        "completed",
        1,
        100,
    )
    queues = {q["queue"]: q for q in csr.get("/api/v1/routing/queues").json()}
    assert queues["brokering"]["size"] == 0


def test_hold_unhold_release_by_order_number(
    london_order, api_client_for, run_brokering
):
    order = london_order()
    run_brokering()  # no stock anywhere: unfillable
    csr = api_client_for("csr")

    assert (
        csr.post(f"/api/v1/orders/{order.number}/hold").json()["queue"]
        == "unfillable_hold"
    )
    assert csr.post(f"/api/v1/orders/{order.number}/hold").status_code == 409
    assert (
        csr.post(f"/api/v1/orders/{order.number}/unhold").json()["queue"]
        == "unfillable"
    )
    assert (
        csr.post(f"/api/v1/orders/{order.number}/release").json()["queue"]
        == "brokering"
    )
    assert csr.post("/api/v1/orders/NOPE/release").status_code == 404
    assert Order.objects.get(pk=order.pk).queue == "brokering"


def test_simulate_draft_rules_through_the_api(
    london_order, places, products, put_stock, api_client_for
):
    put_stock(places["dc"], products["SKU-A"], 5)
    put_stock(places["dc"], products["SKU-B"], 5)
    london_order()
    csr = api_client_for("csr")

    response = csr.post(
        "/api/v1/routing/simulate",
        {
            "rules": {
                "queues": ["brokering"],
                "sort_criteria": ["distance"],
                "location_types": ["store"],
            }
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["draft"]["unfillable"] == 1
    assert body["live"]["routed"] == 1
    assert body["differing"] == 1
    assert not FulfillmentRequest.objects.exists()


def test_bad_input_is_a_4xx_never_a_500(admin_api, integration_api, api_client_for):
    csr = api_client_for("csr")
    huge = 10**23
    assert (
        integration_api.get(f"/api/v1/fulfillment-requests/{huge}").status_code == 404
    )
    listing = integration_api.get("/api/v1/fulfillment-requests?status=%00x")
    assert listing.status_code == 400
    assert "status" in listing.json()["errors"]
    started = csr.post("/api/v1/brokering-runs", {"rule_set_id": huge}, format="json")
    assert started.status_code == 400
    assert csr.post("/api/v1/orders/%00/release").status_code == 404
    simulated = csr.post(
        "/api/v1/routing/simulate",
        {
            "rules": {"queues": ["brokering"], "sort_criteria": ["distance"]},
            "order_numbers": ["a\x00b"],
        },
        format="json",
    )
    assert simulated.status_code == 400
    assert not RoutingRuleSet.objects.exclude(name="Default").exists()
