"""POST /api/v1/orders and /api/v1/orders/import."""

from decimal import Decimal

import pytest
from drf_spectacular.generators import SchemaGenerator

from oms.models import Event
from orders.models import Order
from orders.workflows.config import current_config
from payments.providers.test import TestProvider
from payments.selectors import payment_account_for_owner

pytestmark = pytest.mark.django_db


def payload(**overrides) -> dict:
    body = {
        "channel": "web",
        "external_id": "WEB-1001",
        "currency": "USD",
        "payment_token": "tok_approve",
        "customer_name": "Ada Lovelace",
        "customer_email": "ada@example.com",
        "shipping_address": {"address_line1": "1 Analytical Row", "city": "London"},
        "shipping_price": "5.00",
        "shipping_tax": "0.50",
        "discount": "3.00",
        "total": "52.00",
        "lines": [
            {"sku": "SKU-A", "quantity": 2, "unit_price": "10.00", "tax": "2.00"},
            {"sku": "SKU-B", "quantity": 1, "unit_price": "25.00", "tax": "2.50"},
            {"sku": "SKU-C", "quantity": 1, "unit_price": "0.00"},
        ],
    }
    body.update(overrides)
    return body


@pytest.fixture
def catalogue(channel, products):
    return products


def test_an_order_is_taken_in_with_its_payment_authorized_and_an_event(
    integration_api, catalogue, django_capture_on_commit_callbacks
):
    response = integration_api.post("/api/v1/orders", payload(), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["number"].startswith("OMS-")
    assert body["status"] == "created"
    assert Decimal(body["total"]) == Decimal("52.00")
    shares = [Decimal(line["order_discount_share"]) for line in body["lines"]]
    assert shares == [Decimal("1.33"), Decimal("1.67"), Decimal("0.00")]
    order = Order.objects.get(number=body["number"])
    account = payment_account_for_owner(owner_type="order", owner_id=str(order.pk))
    assert account.authorized_amount == Decimal("52.00")
    assert Event.objects.filter(name="order.created", entity_id=str(order.pk)).exists()


def test_a_repeat_with_the_same_body_returns_the_existing_order(
    integration_api, catalogue
):
    first = integration_api.post("/api/v1/orders", payload(), format="json")
    again = integration_api.post("/api/v1/orders", payload(), format="json")

    assert again.status_code == 200
    assert again.json()["number"] == first.json()["number"]
    assert Order.objects.count() == 1


def test_a_repeat_with_another_body_is_a_conflict(integration_api, catalogue):
    integration_api.post("/api/v1/orders", payload(), format="json")
    other = payload(customer_name="Someone Else")

    response = integration_api.post("/api/v1/orders", other, format="json")

    assert response.status_code == 409
    assert response.json()["type"] == "duplicate_external_id"
    assert Order.objects.count() == 1


def test_a_declined_payment_writes_nothing(integration_api, catalogue):
    response = integration_api.post(
        "/api/v1/orders", payload(payment_token="tok_decline"), format="json"
    )

    assert response.status_code == 400
    assert response.json()["type"] == "payment_declined"
    assert Order.objects.count() == 0
    assert not Event.objects.filter(name="order.created").exists()


def test_an_unknown_channel_is_a_400(integration_api, catalogue):
    response = integration_api.post(
        "/api/v1/orders", payload(channel="nope"), format="json"
    )

    assert response.status_code == 400
    assert response.json()["type"] == "unknown_channel"
    assert "channel" in response.json()["errors"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"total": "52.01"}, "total"),
        ({"currency": "XXX"}, "currency"),
        (
            {"lines": [{"sku": "NOPE", "quantity": 1, "unit_price": "1.00"}]},
            "lines[0].sku",
        ),
        ({"lines": [{"sku": "SKU-A", "quantity": 0, "unit_price": "1.00"}]}, "lines"),
        ({"shipping_price": "5.005"}, "shipping_price"),
        ({"order_type": "bopis"}, "pickup_location"),
        ({"discount": "100.00", "total": None}, "discount"),
        (
            {
                "lines": [
                    {"sku": "SKU-A", "quantity": 100000, "unit_price": "99999999.99"}
                ],
                "total": None,
            },
            "lines[0].quantity",
        ),
        (
            {
                "shipping_price": "9999999999.99",
                "shipping_tax": "9999999999.99",
                "total": None,
            },
            "total",
        ),
    ],
)
def test_bad_orders_get_field_errors_and_write_nothing(
    integration_api, catalogue, change, field
):
    body = {k: v for k, v in payload(**change).items() if v is not None}

    response = integration_api.post("/api/v1/orders", body, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert Order.objects.count() == 0


def test_a_free_gift_last_takes_no_share_of_the_order_discount(
    integration_api, catalogue
):
    response = integration_api.post(
        "/api/v1/orders", gift_order("GIFT-1"), format="json"
    )

    assert response.status_code == 201, response.json()
    shares = [line["order_discount_share"] for line in response.json()["lines"]]
    assert shares == ["1.67", "1.66", "1.67", "0.00"]


def gift_order(external_id: str) -> dict:
    """Three lines at 10.00, a free gift last, 5.00 off the order."""
    lines = [
        {"sku": sku, "quantity": 1, "unit_price": "10.00"}
        for sku in ("SKU-A", "SKU-B", "SKU-A")
    ]
    gift = {"sku": "SKU-C", "quantity": 1, "unit_price": "0.00"}
    return payload(
        external_id=external_id, discount="5.00", total="30.50", lines=[*lines, gift]
    )


def test_an_import_takes_a_free_gift_and_reports_a_total_too_large(
    integration_api, catalogue
):
    too_large = payload(
        external_id="HUGE-1",
        total=None,
        lines=[{"sku": "SKU-A", "quantity": 100000, "unit_price": "99999999.99"}],
    )
    del too_large["total"]

    response = integration_api.post(
        "/api/v1/orders/import",
        {"orders": [gift_order("GIFT-2"), too_large]},
        format="json",
    )

    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["status"], r["code"]) for r in results] == [
        ("created", ""),
        ("failed", "invalid_order"),
    ]
    assert "lines[0].quantity" in results[1]["errors"]
    assert list(Order.objects.values_list("external_id", flat=True)) == ["GIFT-2"]


def test_a_bopis_order_needs_a_store_that_offers_pickup(
    integration_api, catalogue, store
):
    response = integration_api.post(
        "/api/v1/orders",
        payload(order_type="bopis", pickup_location=store.code),
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["pickup_location"] == store.code


def test_a_single_order_takes_at_most_15_queries(
    integration_api, catalogue, django_assert_max_num_queries
):
    integration_api.post(
        "/api/v1/orders", payload(external_id="warm-up"), format="json"
    )

    with django_assert_max_num_queries(15):
        response = integration_api.post("/api/v1/orders", payload(), format="json")

    assert response.status_code == 201


def test_an_import_reports_each_order_and_a_bad_one_does_not_stop_the_others(
    integration_api, catalogue
):
    orders = [
        payload(external_id="B-1"),
        payload(external_id="B-2", payment_token="tok_decline"),
        payload(external_id="B-3", total="1.00"),
        payload(external_id="B-4"),
        {"external_id": "B-5"},
        payload(external_id="B-4"),
        "not an order",
    ]

    response = integration_api.post(
        "/api/v1/orders/import", {"orders": orders}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    statuses = [(r["external_id"], r["status"], r["code"]) for r in body["results"]]
    assert statuses == [
        ("B-1", "created", ""),
        ("B-2", "failed", "payment_declined"),
        ("B-3", "failed", "invalid_order"),
        ("B-4", "created", ""),
        ("B-5", "failed", "invalid"),
        ("B-4", "existing", ""),
        ("", "failed", "invalid"),
    ]
    assert (body["created"], body["existing"], body["failed"]) == (2, 1, 4)
    assert set(Order.objects.values_list("external_id", flat=True)) == {"B-1", "B-4"}
    assert Order.objects.get(external_id="B-1").lines.count() == 3


@pytest.mark.parametrize(
    ("first_token", "first_outcome"),
    [("tok_approve", ("created", "")), ("tok_decline", ("failed", "payment_declined"))],
)
def test_an_import_refuses_an_external_id_repeated_with_another_body(
    integration_api, catalogue, first_token, first_outcome
):
    first = payload(external_id="D-1", payment_token=first_token)
    orders = [first, {**first, "customer_name": "Someone Else"}, first]

    response = integration_api.post(
        "/api/v1/orders/import", {"orders": orders}, format="json"
    )

    assert response.status_code == 200
    results = response.json()["results"]
    repeat = "existing" if first_outcome[0] == "created" else "failed"
    assert [(r["status"], r["code"]) for r in results] == [
        first_outcome,
        ("failed", "duplicate_external_id"),
        (repeat, first_outcome[1]),
    ]
    assert results[1]["detail"] == (
        "External id 'D-1' comes earlier in this import with a different body."
    )
    assert results[1]["number"] is None
    assert results[2]["number"] == results[0]["number"]
    assert results[2]["errors"] == results[0]["errors"]
    names = Order.objects.values_list("customer_name", flat=True)
    assert list(names) == (["Ada Lovelace"] if repeat == "existing" else [])


def test_the_schema_shows_an_import_result_as_it_is_answered():
    schemas = SchemaGenerator().get_schema(request=None, public=True)["components"]
    result = schemas["schemas"]["ImportResult"]
    error = schemas["schemas"]["Error"]

    status = schemas["schemas"]["ImportResultStatusEnum"]
    assert status["enum"] == ["created", "existing", "failed"]
    assert result["properties"]["number"]["nullable"] is True
    assert set(result["required"]) == set(result["properties"])
    # The errors of a failed order are those of the single intake's 400.
    errors = result["properties"]["errors"]
    assert (
        errors["additionalProperties"]
        == error["properties"]["errors"]["additionalProperties"]
    )


def test_an_import_of_more_than_1000_orders_is_refused(integration_api, catalogue):
    response = integration_api.post(
        "/api/v1/orders/import", {"orders": [payload()] * 1001}, format="json"
    )

    assert response.status_code == 400
    assert Order.objects.count() == 0


def test_only_integrations_take_orders_in(api_client_for, catalogue):
    response = api_client_for("store_associate").post(
        "/api/v1/orders", payload(), format="json"
    )

    assert response.status_code == 403


def test_a_pos_order_without_stock_fails_alone_in_an_import(
    integration_api, catalogue, store
):
    pos = payload(
        external_id="POS-1", order_type="pos", pickup_location=store.code, total=None
    )
    pos = {k: v for k, v in pos.items() if v is not None}

    response = integration_api.post(
        "/api/v1/orders/import",
        {"orders": [pos, payload(external_id="OK-1")]},
        format="json",
    )

    statuses = [(r["external_id"], r["status"]) for r in response.json()["results"]]
    assert statuses == [("POS-1", "failed"), ("OK-1", "created")]
    assert response.json()["results"][0]["code"] == "insufficient_stock"


def test_an_import_authorizes_each_payment_and_a_decline_leaves_no_account(
    integration_api, catalogue
):
    orders = [
        payload(external_id="P-1"),
        payload(external_id="P-2", payment_token="tok_decline"),
        payload(external_id="P-3", payment_token="tok_fail_once"),
    ]

    response = integration_api.post(
        "/api/v1/orders/import", {"orders": orders}, format="json"
    )

    statuses = [(r["external_id"], r["status"]) for r in response.json()["results"]]
    assert statuses == [("P-1", "created"), ("P-2", "failed"), ("P-3", "created")]
    accounts = {
        order.external_id: payment_account_for_owner(
            owner_type="order", owner_id=str(order.pk)
        )
        for order in Order.objects.all()
    }
    assert set(accounts) == {"P-1", "P-3"}
    assert (accounts["P-1"].status, accounts["P-1"].authorized_amount) == (
        "authorized",
        Decimal("52.00"),
    )
    # A gateway outage keeps the order, its authorization left to the retry sweep.
    assert (accounts["P-3"].status, accounts["P-3"].authorized_amount) == (
        "pending_authorization",
        Decimal("0"),
    )
    assert accounts["P-3"].transactions.get().status == "pending"
    events = sorted(Event.objects.values_list("name", "entity_id"))
    assert events == sorted(
        [
            ("order.created", str(Order.objects.get(external_id="P-1").pk)),
            ("order.created", str(Order.objects.get(external_id="P-3").pk)),
            ("payment_account.amount_authorized", str(accounts["P-1"].pk)),
        ]
    )


def test_an_import_writes_its_orders_in_a_few_statements_each(
    integration_api, catalogue, django_assert_max_num_queries
):
    orders = [payload(external_id=f"Q-{n}") for n in range(50)]

    current_config()  # this process's copy of the workflow configuration is warm
    # Orders, lines, the provider's batch of authorizations (one statement in the
    # test gateway's ledger), accounts, transactions, events and workflow step runs:
    # one INSERT each, after the look-ups.
    with django_assert_max_num_queries(14):
        response = integration_api.post(
            "/api/v1/orders/import", {"orders": orders}, format="json"
        )

    assert response.json()["created"] == 50
    assert Order.objects.count() == 50


def test_a_line_sold_as_final_sale_is_taken_in_and_shown_as_such(
    integration_api, catalogue
):
    body = payload()
    body["lines"][1]["final_sale"] = True

    response = integration_api.post("/api/v1/orders", body, format="json")

    assert response.status_code == 201, response.json()
    assert [line["final_sale"] for line in response.json()["lines"]] == [
        False,
        True,
        False,
    ]
    again = integration_api.post("/api/v1/orders", body, format="json")
    assert again.status_code == 200


def test_orders_taken_in_before_lines_could_be_final_sale_still_repeat(catalogue):
    from orders.intake import LineInput, OrderInput

    data = OrderInput(
        channel="web",
        external_id="WEB-1",
        currency="USD",
        lines=[LineInput(sku="SKU-A", quantity=1, unit_price=Decimal("1.00"))],
    )
    # The fingerprint of such a body, as stored before `final_sale` existed.
    assert data.fingerprint() == (
        "44d3cda9f563aea0f4fdbaa3c42fb560536eaa00a95b0eb19d5628bfcd4480c6"
    )


class UnreachableGateway(TestProvider):
    """A gateway whose batch call fails at the network."""

    def authorize_many(self, requests):
        raise ConnectionError("gateway unreachable")


def test_an_import_whose_gateway_is_unreachable_keeps_its_orders_to_authorize_later(
    integration_api, catalogue, settings
):
    settings.OMS_PAYMENT_PROVIDERS = {
        **settings.OMS_PAYMENT_PROVIDERS,
        "down": f"{__name__}.UnreachableGateway",
    }
    settings.OMS_CHANNEL_PAYMENT_PROVIDER = {"web": "down"}
    orders = [payload(external_id=f"D-{n}") for n in range(2)]

    response = integration_api.post(
        "/api/v1/orders/import", {"orders": orders}, format="json"
    )

    assert response.json()["created"] == 2
    for order in Order.objects.all():
        account = payment_account_for_owner(owner_type="order", owner_id=str(order.pk))
        authorization = account.transactions.get()
        assert (account.status, authorization.status) == (
            "pending_authorization",
            "pending",
        )
        assert authorization.error == "ConnectionError: gateway unreachable"
