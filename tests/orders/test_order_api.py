"""Reading orders through the API: list filters, detail, timeline."""

from decimal import Decimal

import pytest
from django.utils import timezone

from orders import services
from orders.models import Order

pytestmark = pytest.mark.django_db


def test_the_list_filters_and_searches_like_the_page(
    api_client_for, place_order, opened_order, django_assert_max_num_queries
):
    created = place_order(customer_email="grace@example.com")
    opened = opened_order()
    for _ in range(5):
        place_order()
    api = api_client_for("csr")

    with django_assert_max_num_queries(6):
        everything = api.get("/api/v1/orders").json()
    opened_only = api.get("/api/v1/orders", {"status": "opened"}).json()
    by_email = api.get("/api/v1/orders", {"q": "grace@example.com"}).json()
    brokering = api.get(
        "/api/v1/orders", {"queue": "brokering", "channel": "web"}
    ).json()

    assert len(everything["results"]) == 7
    assert [o["number"] for o in opened_only["results"]] == [opened.number]
    assert [o["number"] for o in by_email["results"]] == [created.number]
    assert [o["number"] for o in brokering["results"]] == [opened.number]


def test_a_bad_filter_value_is_a_400(api_client_for, place_order):
    response = api_client_for("csr").get("/api/v1/orders", {"status": "nonsense"})

    assert response.status_code == 400


def test_the_detail_and_timeline_show_lines_and_who_did_what(
    api_client_for, opened_order, make_user
):
    order = opened_order()
    csr = make_user("csr", username="carla")
    services.order_cancel(order=order, actor=csr, reason="Customer asked")
    api = api_client_for("csr")

    detail = api.get(f"/api/v1/orders/{order.number}").json()
    timeline = api.get(f"/api/v1/orders/{order.number}/timeline").json()
    missing = api.get("/api/v1/orders/OMS-99999999")

    assert detail["status"] == "cancelled"
    assert [line["status"] for line in detail["lines"]] == ["cancelled", "cancelled"]
    names = [item["name"] for item in timeline]
    assert names.index("order.created") < names.index("order.cancelled")
    # The money moves of the order's payment account are on it too.
    voided = next(i for i in timeline if i["name"] == "payment_account.amount_voided")
    assert voided["payload"]["amount"] == "55.00"
    assert any(
        item.get("actor") == "carla" and item.get("reason") == "Customer asked"
        for item in timeline
    )
    assert missing.status_code == 404


def test_a_change_sent_with_an_old_etag_is_refused_and_changes_nothing(
    place_order, api_client_for
):
    """Two integrations read the order; the first edits it, the second's edit,
    worked out from what it read, is refused instead of undoing the first."""
    order = place_order()
    csr = api_client_for("csr")
    etag = csr.get(f"/api/v1/orders/{order.number}")["ETag"]

    first = csr.patch(
        f"/api/v1/orders/{order.number}",
        {"notes": "Ring twice"},
        format="json",
        HTTP_IF_MATCH=etag,
    )
    second = csr.patch(
        f"/api/v1/orders/{order.number}",
        {"notes": "Leave at the door"},
        format="json",
        HTTP_IF_MATCH=etag,
    )

    assert first.status_code == 200
    assert first["ETag"] != etag
    assert second.status_code == 409
    assert second.json()["type"] == "order_changed"
    order.refresh_from_db()
    assert order.notes == "Ring twice"


def test_cancel_items_with_an_old_etag_is_refused(opened_order, api_client_for):
    order = opened_order()
    csr = api_client_for("csr")
    etag = csr.get(f"/api/v1/orders/{order.number}")["ETag"]
    line = order.lines.get(sku="SKU-A")
    body = {"reason": "Out of stock", "items": [{"line_id": line.pk, "quantity": 1}]}
    url = f"/api/v1/orders/{order.number}/cancel-items"

    first = csr.post(url, body, format="json", HTTP_IF_MATCH=etag)
    again = csr.post(url, body, format="json", HTTP_IF_MATCH=etag)
    without = csr.post(url, body, format="json")

    assert (first.status_code, again.status_code, without.status_code) == (
        200,
        409,
        200,
    )
    line.refresh_from_db()
    assert line.quantity_cancelled == 2


def test_approving_a_held_order_moves_its_etag_on(channel, place_order, api_client_for):
    """A CSR's cancel worked out while the order was held is refused once another
    CSR approved it; approve itself honours If-Match."""
    channel.order_value_limit = Decimal("50.00")
    channel.save()
    order = place_order()
    Order.objects.filter(pk=order.pk).update(grace_period_ends_at=timezone.now())
    services.order_open(order_id=order.pk)
    csr = api_client_for("csr")
    held = csr.get(f"/api/v1/orders/{order.number}")["ETag"]

    approved = csr.post(
        f"/api/v1/orders/{order.number}/approve",
        {"comment": "Known customer"},
        format="json",
        HTTP_IF_MATCH=held,
    )
    cancel = csr.post(
        f"/api/v1/orders/{order.number}/cancel",
        {"reason": "Fraud"},
        format="json",
        HTTP_IF_MATCH=held,
    )

    assert approved.status_code == 200
    assert approved["ETag"] != held
    assert cancel.status_code == 409
    assert Order.objects.get(pk=order.pk).status == "opened"


def test_cancel_items_answers_with_the_orders_new_etag(opened_order, api_client_for):
    order = opened_order()
    csr = api_client_for("csr")
    line = order.lines.get(sku="SKU-A")

    response = csr.post(
        f"/api/v1/orders/{order.number}/cancel-items",
        {"reason": "Damaged", "items": [{"line_id": line.pk, "quantity": 1}]},
        format="json",
    )

    assert response["ETag"] == csr.get(f"/api/v1/orders/{order.number}")["ETag"]


def test_a_replayed_change_answers_with_the_etag_it_first_named(
    opened_order, api_client_for
):
    """An integration that lost the answer to its cancel-items sends it again
    under the same Idempotency-Key, and can go on from the replayed ETag."""
    order = opened_order()
    csr = api_client_for("csr")
    line = order.lines.get(sku="SKU-A")
    body = {"reason": "Damaged", "items": [{"line_id": line.pk, "quantity": 1}]}
    url = f"/api/v1/orders/{order.number}/cancel-items"

    first = csr.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="cancel-1")
    replay = csr.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="cancel-1")

    assert replay["Idempotent-Replayed"] == "true"
    assert replay["ETag"] == first["ETag"]
    line.refresh_from_db()
    assert line.quantity_cancelled == 1


def test_a_weak_etag_matches_no_version(place_order, api_client_for):
    """If-Match compares strongly: the current version sent as weak is refused."""
    order = place_order()
    csr = api_client_for("csr")
    etag = csr.get(f"/api/v1/orders/{order.number}")["ETag"]

    response = csr.patch(
        f"/api/v1/orders/{order.number}",
        {"notes": "Ring twice"},
        format="json",
        HTTP_IF_MATCH=f"W/{etag}",
    )

    assert response.status_code == 409
    order.refresh_from_db()
    assert order.notes == ""
