"""Retailer-defined order types are real: orders are imported with their code,
follow the type's flow, and run the steps configured for the type."""

from datetime import timedelta

import pytest
from django.utils import timezone

from oms.errors import ApplicationError
from orders.models import Order
from orders.workflows import services
from orders.workflows.models import OrderTypeDefinition, WorkflowStepRun
from tests.orders.test_intake_api import payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketplace(admin_api):
    response = admin_api.post(
        "/api/v1/order-types",
        {"code": "marketplace", "name": "Marketplace", "flow": "standard"},
        format="json",
    )
    assert response.status_code == 201
    return OrderTypeDefinition.objects.get(code="marketplace")


def test_an_order_of_a_custom_type_is_imported_with_its_code(
    integration_api, channel, products, marketplace
):
    response = integration_api.post(
        "/api/v1/orders", payload(order_type="marketplace"), format="json"
    )

    assert response.status_code == 201
    assert response.json()["order_type"] == "marketplace"
    order = Order.objects.get(number=response.json()["number"])
    assert (order.order_type_id, order.flow) == ("marketplace", "standard")


@pytest.mark.parametrize("code", ["layaway", "inactive"])
def test_an_unknown_or_inactive_type_is_refused_and_nothing_written(
    integration_api, channel, products, code
):
    services.order_type_create(
        code="inactive", name="Retired", flow="standard", active=False
    )

    response = integration_api.post(
        "/api/v1/orders", payload(order_type=code), format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"]["order_type"] == [
        f"Unknown or inactive order type {code!r}."
    ]
    assert not Order.objects.exists()


def test_a_custom_type_follows_its_flow(opened_order):
    services.order_type_create(code="drop", name="Limited drop", flow="pre_order")

    order = opened_order(
        order_type="drop", promise_date=timezone.localdate() + timedelta(days=3)
    )

    assert (order.status, order.queue) == ("opened", "pre_order")


def test_a_bopis_flow_type_needs_a_pickup_store(channel, products, integration_api):
    services.order_type_create(
        code="click_collect", name="Click & collect", flow="bopis"
    )

    response = integration_api.post(
        "/api/v1/orders", payload(order_type="click_collect"), format="json"
    )

    assert response.status_code == 400
    assert "pickup_location" in response.json()["errors"]


def test_the_steps_of_a_custom_type_run_for_its_orders(
    marketplace, add_step, place_order
):
    add_step("created", "add_tags", {"tags": ["marketplace"]}, order_type=marketplace)

    custom = place_order(order_type="marketplace")
    standard = place_order()

    custom.refresh_from_db()
    standard.refresh_from_db()
    assert custom.tags == ["marketplace"]
    assert "marketplace" not in standard.tags
    assert WorkflowStepRun.objects.filter(order=custom, action="add_tags").exists()


def test_orders_filter_by_a_custom_type(marketplace, place_order, csr_api_and_client):
    api, client = csr_api_and_client
    custom = place_order(order_type="marketplace")
    place_order()

    listed = api.get("/api/v1/orders?order_type=marketplace").json()["results"]
    page = client.get("/backoffice/orders/?order_type=marketplace").content.decode()

    assert [row["number"] for row in listed] == [custom.number]
    assert '<option value="marketplace" selected>Marketplace</option>' in page


@pytest.fixture
def csr_api_and_client(api_client_for, client, make_user):
    client.force_login(make_user("csr"))
    return api_client_for("csr"), client


def test_the_flow_of_a_type_with_orders_cannot_change(marketplace, place_order):
    place_order(order_type="marketplace")

    with pytest.raises(ApplicationError) as refusal:
        services.order_type_update(order_type=marketplace, flow="bopis")

    assert refusal.value.field_errors["flow"] == [
        "Orders of this type follow its flow; it cannot change."
    ]
