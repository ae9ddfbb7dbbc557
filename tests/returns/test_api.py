"""The returns API: submit, list with filters, detail, retry; bad payloads."""

from datetime import timedelta

import pytest
from django.utils import timezone

from oms.models import Event
from orders.services import channel_create
from returns.models import Return, ReturnLine

pytestmark = pytest.mark.django_db


def line_id(order, sku):
    return order.lines.get(sku=sku).pk


def body(order, *items, location="CAMDEN", **extra):
    return {"order": order.number, "location": location, "items": list(items), **extra}


def one(order, sku, quantity=1, **fields):
    return {
        "order_line_id": line_id(order, sku),
        "quantity": quantity,
        "reason": "size",
        "condition": "resellable",
        **fields,
    }


def test_an_integration_submits_a_return_and_reads_it_back(
    integration_api, shipped_order, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = integration_api.post(
            "/api/v1/returns",
            body(shipped_order, one(shipped_order, "SKU-A", 2)),
            format="json",
        )

    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["status"], data["total_refund_amount"]) == ("processed", "22.00")
    # The refund is made by a task after commit: pending in the answer, then done.
    assert data["refunds"][0]["status"] == "pending"
    assert data["lines"][0]["restocked"] is True
    detail = integration_api.get(f"/api/v1/returns/{data['id']}").json()
    assert detail["rma_number"] == data["rma_number"]
    assert [r["status"] for r in detail["refunds"]] == ["succeeded"]


def test_repeating_an_external_return_id_answers_the_first_return(
    integration_api, shipped_order
):
    payload = body(
        shipped_order, one(shipped_order, "SKU-B"), external_return_id="SHOP-R-7"
    )
    first = integration_api.post("/api/v1/returns", payload, format="json")
    again = integration_api.post("/api/v1/returns", payload, format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert Return.objects.count() == 1


def test_a_blind_return_through_the_api(integration_api, channel, products, places):
    response = integration_api.post(
        "/api/v1/returns",
        {
            "channel": "web",
            "external_order_id": "LEGACY-42",
            "currency": "USD",
            "location": "CAMDEN",
            "items": [
                {
                    "sku": "SKU-D",
                    "quantity": 1,
                    "unit_price": "19.99",
                    "reason": "wrong_item",
                    "condition": "damaged",
                }
            ],
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["order"], data["external_order_id"]) == (None, "LEGACY-42")
    assert (data["status"], data["total_refund_amount"]) == ("processed", "19.99")
    assert data["refunds"] == []
    assert data["lines"][0]["restocked"] is False


@pytest.mark.parametrize(
    "payload, fields",
    [
        ({}, {"location", "items"}),
        ({"location": "NOWHERE", "items": []}, {"items"}),
        (
            {"location": "NOWHERE", "order": "OMS-404", "items": [{}]},
            {"items"},
        ),
        (
            {
                "location": "NOWHERE",
                "order": "OMS-404",
                "items": [
                    {
                        "order_line_id": 1,
                        "quantity": 1,
                        "reason": "size",
                        "condition": "damaged",
                    }
                ],
            },
            {"location", "order"},
        ),
        (
            {
                "location": "CAMDEN",
                "items": [{"quantity": 0, "reason": "x", "condition": "y"}],
            },
            {"items"},
        ),
        (
            {
                "location": "CAMDEN",
                "items": [
                    {
                        "sku": "SKU-A",
                        "quantity": 1,
                        "reason": "size",
                        "condition": "damaged",
                    }
                ],
            },
            {"channel", "external_order_id", "currency", "items.0.unit_price"},
        ),
    ],
)
def test_bad_payloads_are_400_with_field_errors_and_nothing_written(
    integration_api, shipped_order, payload, fields
):
    before = (Return.objects.count(), ReturnLine.objects.count(), Event.objects.count())

    response = integration_api.post("/api/v1/returns", payload, format="json")

    assert response.status_code == 400
    assert fields <= set(response.json()["errors"])
    after = (Return.objects.count(), ReturnLine.objects.count(), Event.objects.count())
    assert after == before


def test_unknown_order_line_and_over_return_are_told_apart(
    integration_api, shipped_order
):
    bad_line = integration_api.post(
        "/api/v1/returns",
        body(shipped_order, {**one(shipped_order, "SKU-A"), "order_line_id": 999999}),
        format="json",
    )
    too_many = integration_api.post(
        "/api/v1/returns",
        body(shipped_order, one(shipped_order, "SKU-A", 3)),
        format="json",
    )

    assert bad_line.status_code == 400
    assert "items.0" in bad_line.json()["errors"]
    # More than was shipped: the return is recorded as failed, with its reason.
    assert too_many.status_code == 201
    assert too_many.json()["status"] == "failed"
    failed = [c for c in too_many.json()["checks"] if not c["passed"]]
    assert failed[0]["check"] == "quantity"


def test_retry_through_the_api_after_extending_the_window(
    api_client_for, ship_order, places, django_capture_on_commit_callbacks
):
    channel_create(code="strict", name="Strict", return_window_days=0)
    order = ship_order(channel="strict")
    csr = api_client_for("csr")
    failed = csr.post(
        "/api/v1/returns", body(order, one(order, "SKU-A")), format="json"
    ).json()
    assert failed["status"] == "failed"

    missing_comment = csr.post(
        f"/api/v1/returns/{failed['id']}/retry",
        {"window_extension_days": 10},
        format="json",
    )
    with django_capture_on_commit_callbacks(execute=True):
        retried = csr.post(
            f"/api/v1/returns/{failed['id']}/retry",
            {"window_extension_days": 10, "comment": "Late parcel, carrier delay"},
            format="json",
        )
    again = csr.post(f"/api/v1/returns/{failed['id']}/retry", {}, format="json")

    assert missing_comment.status_code == 400
    assert "comment" in missing_comment.json()["errors"]
    assert retried.status_code == 200
    assert retried.json()["status"] == "processed"
    assert retried.json()["total_refund_amount"] == "11.00"
    assert again.status_code == 409


def test_list_filters_and_store_associates_see_their_locations(
    api_client_for, integration_api, shipped_order, associate, places
):
    integration_api.post(
        "/api/v1/returns",
        body(shipped_order, one(shipped_order, "SKU-A")),
        format="json",
    )
    integration_api.post(
        "/api/v1/returns",
        body(
            shipped_order,
            one(shipped_order, "SKU-B", reason="damaged"),
            location="CROYDON",
        ),
        format="json",
    )
    sam = api_client_for(None)
    sam.force_authenticate(associate)

    def rmas(client, query=""):
        response = client.get(f"/api/v1/returns{query}")
        assert response.status_code == 200, response.json()
        return [row["location"] for row in response.json()["results"]]

    assert rmas(integration_api) == ["CROYDON", "CAMDEN"]
    assert rmas(integration_api, "?reason=damaged") == ["CROYDON"]
    assert rmas(integration_api, "?location=CAMDEN&status=processed") == ["CAMDEN"]
    assert rmas(sam) == ["CAMDEN"]
    assert rmas(integration_api, f"?order={shipped_order.number}") == [
        "CROYDON",
        "CAMDEN",
    ]
    assert rmas(integration_api, "?order=OMS-99999999") == []
    today = timezone.localdate()
    assert len(rmas(integration_api, f"?created_from={today}")) == 2
    yesterday = today - timedelta(days=1)
    assert rmas(integration_api, f"?created_to={yesterday}") == []
    assert integration_api.get("/api/v1/returns?status=lost").status_code == 400
    assert integration_api.get("/api/v1/returns?created_from=x").status_code == 400


def test_roles(api_client_for, shipped_order):
    assert api_client_for(None).get("/api/v1/returns").status_code in (401, 403)
    assert api_client_for("inventory_manager").get("/api/v1/returns").status_code == 403
    assert api_client_for("csr").get("/api/v1/returns/999").status_code == 404


def test_fully_returned_orders_are_found_by_the_orders_filter(
    integration_api, shipped_order, ship_order
):
    other = ship_order()
    integration_api.post(
        "/api/v1/returns",
        body(
            shipped_order,
            one(shipped_order, "SKU-A", 2),
            one(shipped_order, "SKU-B"),
        ),
        format="json",
    )
    integration_api.post(
        "/api/v1/returns", body(other, one(other, "SKU-A")), format="json"
    )

    returned = integration_api.get("/api/v1/orders?returned=true").json()
    not_returned = integration_api.get("/api/v1/orders?returned=false").json()

    assert [o["number"] for o in returned["results"]] == [shipped_order.number]
    assert [o["number"] for o in not_returned["results"]] == [other.number]


def test_a_store_associate_may_not_receive_at_another_store(
    api_client_for, shipped_order, associate
):
    sam = api_client_for(None)
    sam.force_authenticate(associate)

    response = sam.post(
        "/api/v1/returns",
        body(shipped_order, one(shipped_order, "SKU-A"), location="CROYDON"),
        format="json",
    )

    assert response.status_code == 403
    assert not Return.objects.exists()


def test_an_idempotency_key_replays_the_first_answer(integration_api, shipped_order):
    payload = body(shipped_order, one(shipped_order, "SKU-A"))

    first = integration_api.post(
        "/api/v1/returns", payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    again = integration_api.post(
        "/api/v1/returns", payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["id"] == first.json()["id"]
    assert Return.objects.count() == 1


@pytest.mark.parametrize(
    "payload",
    [
        [],
        "text",
        {"location": 5, "items": "x"},
        {"location": "CAMDEN", "items": [1]},
        {"location": "CAMDEN", "items": [None]},
        {
            "location": "CAMDEN",
            "channel": "web",
            "external_order_id": "E",
            "currency": "USD",
            "items": [
                {
                    "sku": "SKU-A",
                    "quantity": "abc",
                    "unit_price": "NaN",
                    "reason": "size",
                    "condition": "damaged",
                }
            ],
        },
        {"location": "CAMDEN", "order": None, "items": [{"order_line_id": -1}]},
        {
            "location": "CAMDEN",
            "channel": "web",
            "external_order_id": "E",
            "currency": "XXX",
            "items": [
                {
                    "sku": "SKU-A",
                    "quantity": 1,
                    "unit_price": "1e30",
                    "reason": "size",
                    "condition": "damaged",
                }
            ],
        },
    ],
)
def test_odd_payloads_are_400_never_500(integration_api, shipped_order, payload):
    response = integration_api.post("/api/v1/returns", payload, format="json")

    assert response.status_code == 400, response.content
    assert not Return.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        {"window_extension_days": -1},
        {"window_extension_days": "many"},
        {"window_extension_days": 10**9, "comment": "x"},
        [],
    ],
)
def test_odd_retry_payloads_are_400(api_client_for, shipped_order, payload):
    csr = api_client_for("csr")
    created = csr.post(
        "/api/v1/returns",
        body(shipped_order, one(shipped_order, "SKU-A", 3)),
        format="json",
    ).json()

    response = csr.post(
        f"/api/v1/returns/{created['id']}/retry", payload, format="json"
    )

    assert response.status_code == 400, response.content


def test_the_list_costs_the_same_queries_for_one_or_many_returns(
    integration_api, shipped_order, django_assert_max_num_queries
):
    for sku in ("SKU-A", "SKU-A", "SKU-B"):
        integration_api.post(
            "/api/v1/returns",
            body(shipped_order, one(shipped_order, sku)),
            format="json",
        )

    with django_assert_max_num_queries(6):
        response = integration_api.get("/api/v1/returns")

    assert len(response.json()["results"]) == 3


def test_the_orders_list_shows_returned_and_partly_returned_orders(
    integration_api, shipped_order, ship_order
):
    other = ship_order()
    integration_api.post(
        "/api/v1/returns",
        body(
            shipped_order, one(shipped_order, "SKU-A", 2), one(shipped_order, "SKU-B")
        ),
        format="json",
    )
    integration_api.post(
        "/api/v1/returns", body(other, one(other, "SKU-A")), format="json"
    )

    by_status = integration_api.get("/api/v1/orders?status=returned").json()
    partly = integration_api.get("/api/v1/orders?partly_returned=true").json()

    assert [(o["number"], o["status"]) for o in by_status["results"]] == [
        (shipped_order.number, "returned")
    ]
    assert [(o["number"], o["status"]) for o in partly["results"]] == [
        (other.number, "completed")
    ]


def test_an_exchange_through_the_api_names_the_replacement_order(
    integration_api, shipped_order
):
    response = integration_api.post(
        "/api/v1/returns",
        body(
            shipped_order,
            one(shipped_order, "SKU-B", replacement={"sku": "SKU-C"}),
        ),
        format="json",
    )

    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["total_refund_amount"], data["total_credit_amount"]) == (
        "0.00",
        "27.50",
    )
    line = data["lines"][0]
    assert (line["replacement_sku"], line["replacement_quantity"]) == ("SKU-C", 1)
    assert line["credit_amount"] == "27.50"
    replacement = integration_api.get(
        f"/api/v1/orders/{data['replacement_order']}"
    ).json()
    assert (replacement["order_type"], replacement["exchange_credit"]) == (
        "replacement",
        "27.50",
    )
    assert [line["sku"] for line in replacement["lines"]] == ["SKU-C"]


@pytest.mark.parametrize(
    ("replacement", "field", "message"),
    [
        ({"sku": "NOPE"}, "items.0.replacement", "Unknown or inactive"),
        ({"quantity": 3}, "items.0.replacement", "between one unit"),
        ({"unit_price": "10.001"}, "items.0.replacement", "unit price in USD"),
        ({"unit_price": "-1"}, "items", "greater than or equal to 0"),
        ({"quantity": 0}, "items", "greater than or equal to 1"),
        ("SKU-C", "items", "Invalid data"),
    ],
)
def test_bad_replacements_are_400_and_write_nothing(
    integration_api, shipped_order, replacement, field, message
):
    orders_before = shipped_order.__class__.objects.count()

    response = integration_api.post(
        "/api/v1/returns",
        body(shipped_order, one(shipped_order, "SKU-A", 2, replacement=replacement)),
        format="json",
    )

    assert response.status_code == 400, response.json()
    errors = response.json()["errors"]
    assert message in str(errors[field]), errors
    assert not Return.objects.exists()
    assert shipped_order.__class__.objects.count() == orders_before
    assert not Event.objects.filter(name__startswith="return.").exists()


def test_a_blind_return_cannot_ask_for_a_replacement(integration_api, channel, places):
    response = integration_api.post(
        "/api/v1/returns",
        {
            "channel": "web",
            "external_order_id": "SHOP-9",
            "currency": "USD",
            "location": "CAMDEN",
            "items": [
                {
                    "sku": "SKU-A",
                    "unit_price": "10.00",
                    "quantity": 1,
                    "reason": "size",
                    "condition": "resellable",
                    "replacement": {},
                }
            ],
        },
        format="json",
    )

    assert response.status_code == 400
    assert "An exchange needs an order" in str(response.json()["errors"])
    assert not Return.objects.exists()
