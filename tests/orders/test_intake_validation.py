"""The quick path of intake validation gives exactly what DRF gives, or steps
aside: it never accepts what the serializer refuses, nor changes a value (the
intake fingerprint of a repeat must not depend on the path taken)."""

import copy

import pytest
from rest_framework import serializers

from orders.api import NotPlain, OrderInputSerializer, plain_validation


def body(**overrides) -> dict:
    order = {
        "channel": "web",
        "external_id": "EXT-1",
        "currency": "USD",
        "payment_token": "tok_approve",
        "customer_name": "Ada Lovelace",
        "customer_email": "ada@example.com",
        "shipping_address": {"address_line1": "1 Analytical Row", "city": "London"},
        "shipping_price": "4.90",
        "lines": [
            {"sku": "SKU-A", "quantity": 2, "unit_price": "10.00", "tax": "2.00"},
            {"sku": "SKU-B", "quantity": 1, "unit_price": "25"},
        ],
    }
    order.update(overrides)
    return order


def with_line(**changes) -> dict:
    order = body()
    order["lines"][0].update(changes)
    return order


ACCEPTED_BY_THE_QUICK_PATH = {
    "defaults left out": body(),
    "every field": body(
        order_type="bopis",
        pickup_location="STORE-1",
        customer_phone="+44 20 7946 0000",
        shipping_method="express",
        shipping_tax="0.49",
        discount="1.5",
        total="60.89",
        tags=["gift", "vip"],
        fraud_score="12.50",
        placed_at="2026-11-20T10:15:00+01:00",
        promise_date="2026-12-01",
        notes="",
    ),
    "surrounding spaces": body(customer_name="  Ada  ", external_id=" EXT-9 "),
    "letters beyond ASCII": body(customer_name="Zoë Ångström-Łukasiewicz"),
    "a null fraud score": body(fraud_score=None),
    "blank optional fields": body(
        customer_email="", customer_phone="", pickup_location="", shipping_method=""
    ),
    "four decimals": with_line(unit_price="0.1234"),
    "a final-sale line": with_line(final_sale=True),
    "final sale as DRF's text": with_line(final_sale="yes"),
    # Any code passes here; intake checks it against the defined order types.
    "a retailer's order type": body(order_type="marketplace"),
}

OUTSIDE_THE_QUICK_PATH = {
    "a negative price": with_line(unit_price="-1.00"),
    "five decimals": with_line(unit_price="1.00001"),
    "too many digits": with_line(unit_price="12345678901.00"),
    "a float price": with_line(unit_price=10.5),
    "an integer price": with_line(unit_price=10),
    "quantity zero": with_line(quantity=0),
    "quantity as text": with_line(quantity="2"),
    "quantity true": with_line(quantity=True),
    "a blank external id": body(external_id="   "),
    "a null character": body(customer_name="Ada\x00"),
    "a long channel": body(channel="w" * 41),
    "no lines": body(lines=[]),
    "lines missing": {k: v for k, v in body().items() if k != "lines"},
    "a line that is not an object": body(lines=["SKU-A"]),
    "a bad email": body(customer_email="not-an-email"),
    "a null channel": body(channel=None),
    "not an object": ["an", "array"],
    "an unknown field": body(coupon="SAVE10"),
    "an unknown line field": with_line(colour="red"),
}


@pytest.mark.parametrize(
    "payload", ACCEPTED_BY_THE_QUICK_PATH.values(), ids=ACCEPTED_BY_THE_QUICK_PATH
)
def test_the_quick_path_gives_what_drf_gives(payload):
    checker = OrderInputSerializer()

    quick = plain_validation(checker, copy.deepcopy(payload))

    assert quick == checker.run_validation(copy.deepcopy(payload))
    assert [type(v) for v in quick.values()] == [
        type(v) for v in checker.run_validation(copy.deepcopy(payload)).values()
    ]
    through_drf = OrderInputSerializer.to_order_input(
        checker.run_validation(copy.deepcopy(payload))
    )
    assert checker.validated_input(payload).fingerprint() == through_drf.fingerprint()


@pytest.mark.parametrize(
    "payload", OUTSIDE_THE_QUICK_PATH.values(), ids=OUTSIDE_THE_QUICK_PATH
)
def test_anything_else_is_left_to_drf(payload):
    checker = OrderInputSerializer()
    try:
        expected = checker.run_validation(copy.deepcopy(payload))
    except serializers.ValidationError as refusal:
        expected = refusal.detail

    with pytest.raises(NotPlain):
        plain_validation(checker, copy.deepcopy(payload))
    try:
        answer = checker.validated_input(copy.deepcopy(payload))
    except serializers.ValidationError as refusal:
        assert refusal.detail == expected
    else:
        assert answer == OrderInputSerializer.to_order_input(expected)
