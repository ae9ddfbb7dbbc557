"""Bad input to every write endpoint: a 4xx in the error shape, and not one row
written in any table.

The write endpoints and their request bodies come from the OpenAPI schema, so a new
endpoint is covered as soon as it is routed. Each request runs on the demo data (the
permission matrix's world) as an admin, who passes every role check.
"""

import json

import pytest
from django.apps import apps
from django.db import connection
from drf_spectacular.generators import SchemaGenerator

from inventory.models import Location, Product
from tests.oms.test_permission_matrix import concrete_path, world  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

WRITE_METHODS = ("post", "put", "patch")
ERROR_KEYS = {"type", "title", "status", "detail", "errors"}


def _write_operations() -> list[tuple[str, str, dict]]:
    """(METHOD, path template, JSON request-body schema) of every write endpoint
    that takes a body."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    operations = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            content = operation.get("requestBody", {}).get("content", {})
            if method in WRITE_METHODS and "application/json" in content:
                ref = content["application/json"]["schema"]["$ref"]
                body = components[ref.rsplit("/", 1)[-1]]
                operations.append((method.upper(), path, body))
    return operations


def _bodyless_actions() -> list[tuple[str, str]]:
    """(METHOD, path template) of every write endpoint that takes no JSON body
    (confirm, retry, rotate a secret, start a run...)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [
        (method.upper(), path)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
        if method in WRITE_METHODS
        and "application/json"
        not in operation.get("requestBody", {}).get("content", {})
    ]


def _route(path_template: str) -> str:
    """/api/v1/orders/{number} → /api/v1/orders/<number>; {id} is a <pk>."""
    return path_template.replace("{id}", "<pk>").replace("{", "<").replace("}", ">")


def row_counts() -> tuple[int, ...]:
    """The number of rows of every table, in one query."""
    tables = sorted(model._meta.db_table for model in apps.get_models())
    sql = "SELECT " + ", ".join(
        f"(SELECT count(*) FROM {connection.ops.quote_name(table)})" for table in tables
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()


WRONG_VALUE = {
    "string": {"not": "a string"},
    "integer": "not a number",
    "number": "not a number",
    "boolean": "maybe",
    "array": "not a list",
    "object": ["not", "an", "object"],
}


def _wrong_types(body_schema: dict) -> dict:
    """Every declared field with a value of another JSON type."""
    return {
        name: WRONG_VALUE.get(field.get("type", "object"), ["?"])
        for name, field in body_schema.get("properties", {}).items()
        if not field.get("readOnly")
    }


def _send(client, method: str, path: str, raw_body: str):
    return getattr(client, method.lower())(
        path, data=raw_body, content_type="application/json"
    )


def _refusals(world, bodies) -> list[str]:  # noqa: F811
    """Send each (label, METHOD, path template, raw body); describe every answer
    that is not a 4xx in the error shape or that wrote a row."""
    client = world.clients["admin"]
    problems = []
    for label, method, template, raw_body, expected in bodies:
        path = concrete_path(_route(template), world)
        before = row_counts()
        response = _send(client, method, path, raw_body)
        written = row_counts() != before
        shape_ok = response.get("Content-Type", "").startswith(
            "application/json"
        ) and ERROR_KEYS <= set(response.json())
        if not expected(response.status_code) or not shape_ok or written:
            problems.append(
                f"{label}: {method} {path} → {response.status_code} "
                f"{response.content[:200]!r}{' (rows written)' if written else ''}"
            )
    return problems


def is_400(status: int) -> bool:
    return status == 400


def is_4xx(status: int) -> bool:
    return 400 <= status < 500


def test_malformed_json_wrong_types_and_unknown_fields_are_400s(world):  # noqa: F811
    bodies = []
    for method, template, body_schema in _write_operations():
        bodies += [
            ("malformed JSON", method, template, '{"items": [', is_400),
            ("not an object", method, template, '["items"]', is_400),
            (
                "wrong types",
                method,
                template,
                json.dumps(_wrong_types(body_schema)),
                is_400,
            ),
            ("unknown field", method, template, '{"no_such_field": 1}', is_400),
        ]

    assert len(bodies) > 100
    assert _refusals(world, bodies) == []


def test_a_malformed_body_to_an_action_without_one_is_a_400(world):  # noqa: F811
    bodies = []
    for method, template in _bodyless_actions():
        bodies += [
            ("malformed JSON", method, template, '{"confirm": tr', is_400),
            ("not an object", method, template, "[1, 2]", is_400),
        ]

    assert len(bodies) >= 10
    assert _refusals(world, bodies) == []


def test_an_unknown_field_is_named_in_the_errors(world):  # noqa: F811
    client = world.clients["admin"]
    product = Product.objects.first()

    response = _send(
        client,
        "POST",
        "/api/v1/inventory/adjustments",
        json.dumps(
            {
                "location": "DC-NORTH",
                "sku": product.sku,
                "quantity": 1,
                "reason": "found",
                "quantiy": 2,
            }
        ),
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"quantiy": ["Unknown field."]}


def test_a_body_over_the_limit_is_a_413_everywhere(world, settings):  # noqa: F811
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    huge = json.dumps({"note": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE})
    bodies = [
        ("huge", method, template, huge, lambda status: status == 413)
        for method, template, _ in _write_operations()
    ]

    assert _refusals(world, bodies) == []


def test_uploads_have_their_own_limit(world, settings):  # noqa: F811
    settings.OMS_MAX_UPLOAD_BYTES = 100 * 1024
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024
    client = world.clients["admin"]
    csv = b"location,sku,quantity\n" + b"DC-NORTH,TEE-BLA-S,5\n" * 6000
    before = row_counts()

    too_big_file = client.post(
        "/api/v1/inventory/sync", {"file": _upload("stock.csv", csv)}
    )
    too_big_fields = client.post(
        "/api/v1/inventory/sync", {"file": _upload("s.csv", b"x"), "note": "x" * 20_000}
    )
    page = client.post("/backoffice/inventory/sync/", {"file": _upload("s.csv", csv)})

    assert too_big_file.status_code == 413
    assert too_big_file.json()["type"] == "request_too_large"
    assert too_big_fields.status_code == 413
    assert too_big_fields.json()["detail"].endswith("10240 bytes accepted.")
    assert page.status_code == 413
    assert row_counts() == before


def _upload(name: str, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="text/csv")


def _domain_cases(world) -> list[tuple[str, str, str, dict]]:  # noqa: F811
    """(label, METHOD, path template, body) with a bad quantity or currency; each
    body is otherwise one the endpoint would accept."""
    sku = Product.objects.order_by("sku").first().sku
    store = Location.objects.get(code="ST-BERLIN").code
    order = world.objects["orders"]
    line = order.lines.order_by("position").first()
    request_line = world.objects["fulfillment-requests"].lines.first()
    item = lambda quantity: [{"sku": sku, "quantity": quantity}]  # noqa: E731
    order_body = lambda **change: {  # noqa: E731
        "channel": "web",
        "external_id": "BAD-INPUT-1",
        "currency": "EUR",
        "payment_token": "tok_approve",
        "lines": [{"sku": sku, "quantity": 1, "unit_price": "10.00"}],
        **change,
    }
    cases = []
    for quantity in (0, -1):
        cases += [
            (
                "receipt",
                "POST",
                "/api/v1/inventory/receipts",
                {
                    "location": store,
                    "reference_type": "purchase_order",
                    "reference": "PO-BAD",
                    "items": item(quantity),
                },
            ),
            (
                "ASN",
                "POST",
                "/api/v1/inventory/asns",
                {"location": store, "items": item(quantity)},
            ),
            (
                "ASN receipt",
                "POST",
                "/api/v1/inventory/asns/{id}/receive",
                {"items": item(quantity)},
            ),
            (
                "transfer order",
                "POST",
                "/api/v1/inventory/transfer-orders",
                {"origin": "DC-NORTH", "destination": store, "items": item(quantity)},
            ),
            (
                "transfer receipt",
                "POST",
                "/api/v1/inventory/transfer-orders/{id}/receive",
                {"items": item(quantity)},
            ),
            (
                "count",
                "POST",
                "/api/v1/inventory/cycle-counts/{id}/submit",
                {"items": item(-1)},
            ),
            (
                "order line",
                "POST",
                "/api/v1/orders",
                order_body(
                    lines=[{"sku": sku, "quantity": quantity, "unit_price": "10.00"}]
                ),
            ),
            (
                "cancel items",
                "POST",
                "/api/v1/orders/{number}/cancel-items",
                {"reason": "x", "items": [{"line_id": line.pk, "quantity": quantity}]},
            ),
            (
                "swap",
                "POST",
                "/api/v1/orders/{number}/swap-items",
                {
                    "reason": "x",
                    "line_id": line.pk,
                    "new_sku": sku,
                    "quantity": quantity,
                },
            ),
            (
                "return",
                "POST",
                "/api/v1/returns",
                {
                    "order": order.number,
                    "location": store,
                    "items": [
                        {
                            "order_line_id": line.pk,
                            "quantity": quantity,
                            "reason": "damaged",
                            "condition": "damaged",
                        }
                    ],
                },
            ),
            (
                "reject lines",
                "POST",
                "/api/v1/fulfillment-requests/{id}/reject",
                {
                    "reason": "x",
                    "lines": [
                        {
                            "order_line_id": request_line.order_line_id,
                            "quantity": quantity,
                        }
                    ],
                },
            ),
        ]
    cases += [
        (
            "adjustment of zero",
            "POST",
            "/api/v1/inventory/adjustments",
            {"location": store, "sku": sku, "quantity": 0, "reason": "correction"},
        ),
        (
            "transfer shipment",
            "POST",
            "/api/v1/inventory/transfer-orders/{id}/ship",
            {"items": item(-1)},
        ),
        (
            "negative price",
            "POST",
            "/api/v1/orders",
            order_body(lines=[{"sku": sku, "quantity": 1, "unit_price": "-1.00"}]),
        ),
        ("unknown currency", "POST", "/api/v1/orders", order_body(currency="XYZ")),
        (
            "cents in yen",
            "POST",
            "/api/v1/orders",
            order_body(
                currency="JPY",
                lines=[{"sku": sku, "quantity": 1, "unit_price": "10.50"}],
            ),
        ),
        (
            "blind return in an unknown currency",
            "POST",
            "/api/v1/returns",
            {
                "channel": "web",
                "external_order_id": "SHOP-9",
                "currency": "XYZ",
                "location": store,
                "items": [
                    {
                        "sku": sku,
                        "quantity": 1,
                        "unit_price": "5.00",
                        "reason": "changed_mind",
                        "condition": "resellable",
                    }
                ],
            },
        ),
        (
            "return in another currency than its order's",
            "POST",
            "/api/v1/returns",
            {
                "order": order.number,
                "currency": "USD" if order.currency != "USD" else "EUR",
                "location": store,
                "items": [
                    {
                        "order_line_id": line.pk,
                        "quantity": 1,
                        "reason": "damaged",
                        "condition": "damaged",
                    }
                ],
            },
        ),
    ]
    return cases


def test_bad_quantities_and_currencies_are_refused(world):  # noqa: F811
    bodies = [
        (label, method, template, json.dumps(body), is_4xx)
        for label, method, template, body in _domain_cases(world)
    ]

    assert _refusals(world, bodies) == []


def test_the_same_bodies_with_good_values_are_accepted(world):  # noqa: F811
    """The control: the refusals above are for the quantity or the currency."""
    client = world.clients["integration"]
    cases = {label: body for label, _, _, body in _domain_cases(world)}
    good_order = {**cases["unknown currency"], "currency": "EUR"}
    good_receipt = cases["receipt"]
    good_receipt["items"][0]["quantity"] = 2

    order = _send(client, "POST", "/api/v1/orders", json.dumps(good_order))
    receipt = _send(
        client, "POST", "/api/v1/inventory/receipts", json.dumps(good_receipt)
    )

    assert order.status_code == 201, order.content
    assert receipt.status_code == 201, receipt.content


def test_a_form_body_is_held_to_the_same_fields(world):  # noqa: F811
    client = world.clients["admin"]
    product = Product.objects.first()
    body = {"location": "DC-NORTH", "sku": product.sku, "quantity": 1}

    response = client.post(
        "/api/v1/inventory/adjustments", {**body, "reason": "found", "quantiy": 2}
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"quantiy": ["Unknown field."]}
