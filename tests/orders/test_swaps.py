"""Item swaps: the price difference is authorized first or given back."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from oms.models import Event
from orders import services
from payments.models import PaymentAccount

pytestmark = pytest.mark.django_db

D = Decimal


def line_of(order, sku):
    return order.lines.get(sku=sku)


def swap(api, order, **body):
    return api.post(
        f"/api/v1/orders/{order.number}/swap-items",
        {"reason": "Colour out of stock", **body},
        format="json",
    )


def dearer_swap_paid_with(token, api, order, new_unit_price="30.00"):
    """Swap SKU-B (25.00 + 10% tax) for SKU-D at a higher price, once the order's
    card behaves as `token` (it changed after the order was placed)."""
    PaymentAccount.objects.filter(pk=services.order_account(order).pk).update(
        payment_token=token
    )
    return swap(
        api,
        order,
        line_id=line_of(order, "SKU-B").pk,
        new_sku="SKU-D",
        quantity=1,
        new_unit_price=new_unit_price,
    )


def assert_the_swap_changed_nothing(order):
    assert order.lines.count() == 2
    assert line_of(order, "SKU-B").quantity_open == 1
    assert not Event.objects.filter(name="order.items_swapped").exists()


def test_a_swap_at_the_same_price_replaces_the_units_and_moves_no_money(
    opened_order, api_client_for
):
    order = opened_order()
    line_a = line_of(order, "SKU-A")

    response = swap(
        api_client_for("csr"), order, line_id=line_a.pk, new_sku="SKU-C", quantity=2
    )

    assert response.status_code == 200, response.json()
    new_line = response.json()
    assert (new_line["sku"], new_line["quantity"], new_line["status"]) == (
        "SKU-C",
        2,
        "open",
    )
    assert new_line["swapped_from"] == line_a.pk
    line_a.refresh_from_db()
    assert line_a.status == "cancelled"
    account = services.order_account(order)
    assert (account.authorized_amount, account.voided_amount) == (D("55.00"), D("0"))
    order.refresh_from_db()
    assert (order.total, order.queue) == (D("77.00"), "brokering")
    event = Event.objects.get(name="order.items_swapped", entity_id=str(order.pk))
    assert event.payload["price_difference"] == "0.00"


def test_a_cheaper_item_voids_the_difference(opened_order, api_client_for):
    order = opened_order()
    line_b = line_of(order, "SKU-B")

    response = swap(
        api_client_for("csr"),
        order,
        line_id=line_b.pk,
        new_sku="SKU-D",
        quantity=1,
        new_unit_price="20.00",
    )

    assert response.status_code == 200
    # 25.00 + 2.50 tax → 20.00 + 2.00 tax
    assert services.order_account(order).voided_amount == D("5.50")


def test_a_dearer_item_is_authorized_first(opened_order, api_client_for):
    order = opened_order()
    line_b = line_of(order, "SKU-B")

    response = swap(
        api_client_for("csr"),
        order,
        line_id=line_b.pk,
        new_sku="SKU-D",
        quantity=1,
        new_unit_price="30.00",
    )

    assert response.status_code == 200
    assert services.order_account(order).authorized_amount == D("55.00") + D("5.50")


def test_a_declined_extra_authorization_refuses_the_swap_and_changes_nothing(
    opened_order, api_client_for
):
    order = opened_order()

    response = dearer_swap_paid_with("tok_decline", api_client_for("csr"), order)

    assert response.status_code == 400
    assert response.json()["type"] == "payment_declined"
    assert_the_swap_changed_nothing(order)


def test_a_gateway_hiccup_on_the_extra_authorization_is_tried_again_at_once(
    opened_order, api_client_for
):
    order = opened_order()
    account = services.order_account(order)

    response = dearer_swap_paid_with("tok_fail_once", api_client_for("csr"), order)

    assert response.status_code == 200, response.json()
    extra = account.transactions.get(amount=D("5.50"))
    assert (extra.status, extra.attempts) == ("succeeded", 2)
    assert services.order_account(order).authorized_amount == D("60.50")


def test_an_unconfirmed_extra_authorization_refuses_the_swap_and_changes_nothing(
    opened_order, api_client_for
):
    order = opened_order()
    account = services.order_account(order)

    # The gateway times out on the first two attempts of each key.
    response = dearer_swap_paid_with(
        "tok_timeout", api_client_for("csr"), order, new_unit_price="35.00"
    )

    assert response.status_code == 409
    assert response.json()["type"] == "authorization_unconfirmed"
    assert "nothing was changed" in response.json()["detail"]
    assert_the_swap_changed_nothing(order)
    assert list(account.transactions.values_list("amount", flat=True)) == [D("55")]
    # Once the gateway answers again, a cancellation voids exactly what was held.
    PaymentAccount.objects.filter(pk=account.pk).update(payment_token="tok_approve")
    services.order_cancel(order=order, actor=None, reason="Customer gave up")
    account.refresh_from_db()
    assert account.voided_amount == D("55.00")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"new_sku": "NOPE", "quantity": 1}, "new_sku"),
        ({"new_sku": "SKU-B", "quantity": 1}, "new_sku"),
        ({"new_sku": "SKU-C", "quantity": 2}, "quantity"),
        (
            {"new_sku": "SKU-C", "quantity": 1, "new_unit_price": "1.001"},
            "new_unit_price",
        ),
    ],
)
def test_bad_swaps_are_refused_with_field_errors(
    opened_order, api_client_for, body, field
):
    order = opened_order()
    line_b = line_of(order, "SKU-B")

    response = swap(api_client_for("csr"), order, line_id=line_b.pk, **body)

    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_a_cancelled_order_cannot_swap(opened_order, api_client_for):
    order = opened_order()
    services.order_cancel(order=order, actor=None, reason="r")

    response = swap(
        api_client_for("csr"),
        order,
        line_id=line_of(order, "SKU-A").pk,
        new_sku="SKU-C",
        quantity=1,
    )

    assert response.status_code == 409


def test_a_swap_the_order_total_cannot_hold_is_refused_before_any_money_moves(
    opened_order, api_client_for
):
    order = opened_order()

    response = swap(
        api_client_for("csr"),
        order,
        line_id=line_of(order, "SKU-A").pk,
        new_sku="SKU-C",
        quantity=2,
        new_unit_price="9999999999.99",
    )

    assert response.status_code == 400
    assert "largest amount" in response.json()["errors"]["new_unit_price"][0]
    assert_the_swap_changed_nothing(order)
    assert services.order_account(order).authorized_amount == D("55.00")


def test_the_swap_event_names_the_price_in_the_minor_unit_and_who_swapped(
    opened_order, make_user
):
    order = opened_order()
    carla = APIClient()
    carla.force_authenticate(make_user("csr", username="carla"))

    swap(
        carla,
        order,
        line_id=line_of(order, "SKU-A").pk,
        new_sku="SKU-C",
        quantity=1,
        new_unit_price="12.00",
    )

    payload = Event.objects.get(name="order.items_swapped").payload
    assert (payload["unit_price"], payload["by"]) == ("12.00", "carla")
