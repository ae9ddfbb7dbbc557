"""Odd input to POST /api/v1/orders and /api/v1/orders/import: characters that
PostgreSQL or UTF-8 cannot take, values of the wrong kind. Each is a 400 (or a
failed entry of an import) naming the field, and nothing is written."""

import json

import pytest

from oms.api.json_body import MAX_DEPTH
from orders.models import Order
from tests.orders.test_intake_api import payload

pytestmark = pytest.mark.django_db

# A lone UTF-16 surrogate: JSON can carry it (`"\ud800"`), UTF-8 cannot encode it.
SURROGATE = "\ud800"


@pytest.fixture
def catalogue(channel, products):
    return products


def post_single(client, body: dict):
    """POST one order as JSON text: the test client's encoder would fail on a lone
    surrogate, as the server's renderer did."""
    return client.post(
        "/api/v1/orders", data=json.dumps(body), content_type="application/json"
    )


def post_import(client, orders: list):
    return client.post(
        "/api/v1/orders/import",
        data=json.dumps({"orders": orders}),
        content_type="application/json",
    )


def test_an_unknown_field_named_with_a_lone_surrogate_is_a_400_that_names_it(
    integration_api, catalogue
):
    body = {**payload(), f"coupon{SURROGATE}": "SAVE10"}

    response = post_single(integration_api, body)

    assert response.status_code == 400
    assert response.json()["errors"] == {"coupon\\ud800": ["Unknown field."]}
    assert Order.objects.count() == 0


def test_an_unknown_line_field_named_with_a_lone_surrogate_is_a_400(
    integration_api, catalogue
):
    body = payload()
    body["lines"][0][SURROGATE] = 1

    response = post_single(integration_api, body)

    assert response.status_code == 400
    assert "\\ud800" in response.content.decode()
    assert Order.objects.count() == 0


def test_an_import_echoes_a_lone_surrogate_escaped(integration_api, catalogue):
    orders = [
        payload(external_id=f"E-{SURROGATE}"),
        {**payload(external_id="E-2"), SURROGATE: 1},
        payload(external_id="E-3"),
    ]

    response = post_import(integration_api, orders)

    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["external_id"], r["status"]) for r in results] == [
        ("E-\\ud800", "failed"),
        ("E-2", "failed"),
        ("E-3", "created"),
    ]
    assert results[1]["errors"] == {"\\ud800": ["Unknown field."]}
    assert list(Order.objects.values_list("external_id", flat=True)) == ["E-3"]


REFUSED_ADDRESSES = {
    "a null character in a value": {"city": "Lon\x00don"},
    "a lone surrogate in a value": {"city": f"Lon{SURROGATE}don"},
    "a null character in a key": {"ci\x00ty": "London"},
    "a lone surrogate in a key": {SURROGATE: "London"},
    "an object as a value": {"city": {"name": "London"}},
    "a list as a value": {"street": ["1 Analytical Row"]},
    "a boolean as a value": {"residential": True},
}


@pytest.mark.parametrize("address", REFUSED_ADDRESSES.values(), ids=REFUSED_ADDRESSES)
def test_an_address_takes_only_text_values_without_null_characters_or_surrogates(
    integration_api, catalogue, address
):
    single = post_single(integration_api, payload(shipping_address=address))
    batch = post_import(integration_api, [payload(shipping_address=address)])

    assert single.status_code == 400
    assert list(single.json()["errors"]) == ["shipping_address"]
    (result,) = batch.json()["results"]
    assert (result["status"], list(result["errors"])) == (
        "failed",
        ["shipping_address"],
    )
    assert Order.objects.count() == 0


def test_an_address_takes_numbers_as_text_and_null_or_empty_values(
    integration_api, catalogue
):
    address = {"address_line1": "1 Analytical Row", "postal_code": 12345}
    address |= {"address_line2": None, "region": ""}

    response = post_single(integration_api, payload(shipping_address=address))

    assert response.status_code == 201, response.json()
    assert Order.objects.get().shipping_address == {
        "address_line1": "1 Analytical Row",
        "postal_code": "12345",
        "address_line2": None,
        "region": "",
    }


def test_an_edit_holds_the_address_to_the_same_rules(place_order, api_client_for):
    order = place_order()

    response = api_client_for("csr").patch(
        f"/api/v1/orders/{order.number}",
        data=json.dumps({"shipping_address": {"city": "Lon\x00don"}}),
        content_type="application/json",
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["shipping_address"]
    order.refresh_from_db()
    assert order.shipping_address["city"] == "London"


def with_line(**changes) -> dict:
    order = payload()
    order["lines"][0].update(changes)
    return order


BAD_ORDERS = {
    "a line's bad quantity": with_line(quantity=0),
    "a line's unknown field": with_line(colour="red"),
    "a line that is not an object": payload(lines=["SKU-A"]),
    "a bad tag": payload(tags=["gift", "x" * 51]),
    "a bad address value": payload(shipping_address={"city": ["London"]}),
    "an unknown field": payload(coupon="SAVE10"),
    "a missing field": {k: v for k, v in payload().items() if k != "currency"},
    "an unknown SKU": with_line(sku="NOPE"),
    "a total that does not add up": payload(total="1.00"),
}


@pytest.mark.parametrize("order", BAD_ORDERS.values(), ids=BAD_ORDERS)
def test_an_import_reports_the_errors_the_single_intake_gives(
    integration_api, catalogue, order
):
    single = post_single(integration_api, order)
    batch = post_import(integration_api, [order])

    (result,) = batch.json()["results"]
    assert single.status_code == 400
    assert (result["status"], result["code"]) == ("failed", single.json()["type"])
    assert result["errors"] == single.json()["errors"]


# A walk-in sale at a till has no customer name; a platform sends what it lacks as "".
BLANK_OPTIONAL_FIELDS = (
    "customer_name",
    "customer_email",
    "customer_phone",
    "shipping_method",
    "pickup_location",
)


@pytest.mark.parametrize("name", BLANK_OPTIONAL_FIELDS)
def test_an_empty_optional_field_counts_as_not_given(integration_api, catalogue, name):
    without = {k: v for k, v in payload().items() if k != name}

    blank = post_single(integration_api, {**without, name: ""})
    again = post_single(integration_api, without)

    assert blank.status_code == 201, blank.json()
    assert again.status_code == 200
    assert again.json()["number"] == blank.json()["number"]


def test_a_negative_fraud_score_is_a_400(integration_api, catalogue):
    response = post_single(integration_api, payload(fraud_score="-10.00"))

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["fraud_score"]
    assert Order.objects.count() == 0


def test_a_bopis_order_with_an_empty_pickup_location_is_refused(
    integration_api, catalogue
):
    body = payload(order_type="bopis", pickup_location="")

    response = post_single(integration_api, body)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["pickup_location"]
    assert Order.objects.count() == 0


# Valid by the email rules, longer than the 254 characters of the column.
LONG_EMAIL = f"{'a' * 64}@{'b' * 63}.{'c' * 63}.{'d' * 63}.example"


def test_an_email_longer_than_the_column_holds_is_a_400(integration_api, catalogue):
    email = LONG_EMAIL

    single = post_single(integration_api, payload(customer_email=email))
    batch = post_import(integration_api, [payload(customer_email=email)])

    assert single.status_code == 400
    assert list(single.json()["errors"]) == ["customer_email"]
    assert batch.json()["results"][0]["errors"] == single.json()["errors"]
    assert Order.objects.count() == 0


def test_an_edit_holds_the_email_to_the_column_too(place_order, api_client_for):
    order = place_order()

    response = api_client_for("csr").patch(
        f"/api/v1/orders/{order.number}",
        {"customer_email": LONG_EMAIL},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["customer_email"]


def test_an_edit_may_clear_what_intake_may_leave_empty(place_order, api_client_for):
    order = place_order()

    response = api_client_for("csr").patch(
        f"/api/v1/orders/{order.number}",
        {"customer_name": "", "customer_phone": ""},
        format="json",
    )

    assert response.status_code == 200, response.json()
    order.refresh_from_db()
    assert (order.customer_name, order.customer_phone) == ("", "")


# Past the limit; deep enough for DRF's parse, deeper in the stack than the first
# one, to exhaust Python's recursion; too deep for even the first parse.
@pytest.mark.parametrize("depth", [MAX_DEPTH, 900, 100_000])
@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/v1/orders/import"])
def test_a_body_nested_too_deeply_is_a_400(integration_api, catalogue, path, depth):
    body = '{"orders": ' + "[" * depth + "]" * depth + "}"

    response = integration_api.post(path, data=body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["type"] == "parse_error"


def test_an_import_echoes_an_external_id_only_when_it_is_text_or_a_number(
    integration_api, catalogue
):
    external_ids = [["A-1"], {"id": "A-2"}, 3, "A-4"]
    orders = [payload(external_id=value, currency=None) for value in external_ids]

    response = post_import(integration_api, orders)

    echoed = [result["external_id"] for result in response.json()["results"]]
    assert echoed == ["", "", "3", "A-4"]
