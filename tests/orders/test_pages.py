"""Back-office order pages, read as a CSR would read them."""

from decimal import Decimal

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def csr_page(make_user):
    client = Client()
    client.force_login(make_user("csr"))
    return client


def test_the_list_filters_by_status_and_finds_an_order_by_sku(
    csr_page, place_order, opened_order
):
    created = place_order(customer_email="grace@example.com")
    opened = opened_order(
        lines=[
            __import__("orders.intake").intake.LineInput(
                sku="SKU-D", quantity=1, unit_price=Decimal("9.00")
            )
        ]
    )

    by_status = csr_page.get(
        "/backoffice/orders/", {"status": "opened"}
    ).content.decode()
    by_sku = csr_page.get("/backoffice/orders/", {"q": "SKU-D"}).content.decode()
    by_email = csr_page.get(
        "/backoffice/orders/", {"q": "grace@example.com"}
    ).content.decode()

    assert opened.number in by_status and created.number not in by_status
    assert opened.number in by_sku and created.number not in by_sku
    assert created.number in by_email and opened.number not in by_email


def test_bulk_cancel_asks_for_confirmation_saying_how_many(csr_page, opened_order):
    orders = [opened_order(), opened_order()]
    numbers = [order.number for order in orders]

    confirm = csr_page.post(
        "/backoffice/orders/bulk/", {"action": "cancel", "orders": numbers}
    )
    done = csr_page.post(
        "/backoffice/orders/bulk/",
        {
            "action": "cancel",
            "orders": numbers,
            "confirmed": "yes",
            "text": "Duplicates",
        },
        follow=True,
    )

    assert "Cancel 2 orders?" in confirm.content.decode()
    assert "2 of 2 orders cancelled." in done.content.decode()
    for order in orders:
        order.refresh_from_db()
        assert order.status == "cancelled"


def test_the_order_page_shows_only_the_actions_allowed_now(
    csr_page, place_order, opened_order
):
    created = place_order()
    opened = opened_order()

    in_grace = csr_page.get(f"/backoffice/orders/{created.number}/").content.decode()
    after = csr_page.get(f"/backoffice/orders/{opened.number}/").content.decode()

    assert "Edit order" in in_grace
    assert "Edit order" not in after
    assert "Approve order" not in after
    assert "Cancel whole order" in after
    assert "Swap items" in after


def test_cancelling_items_previews_the_refund_before_confirming(csr_page, opened_order):
    order = opened_order()
    line_a = order.lines.get(sku="SKU-A")

    preview = csr_page.post(
        f"/backoffice/orders/{order.number}/cancel-items/",
        {f"qty-{line_a.pk}": "1", "reason": "Damaged"},
    ).content.decode()
    line_a.refresh_from_db()
    assert line_a.quantity_cancelled == 0
    assert "11.00 USD" in preview

    csr_page.post(
        f"/backoffice/orders/{order.number}/cancel-items/",
        {f"qty-{line_a.pk}": "1", "reason": "Damaged", "confirmed": "yes"},
    )
    line_a.refresh_from_db()
    assert line_a.quantity_cancelled == 1


def test_a_store_associate_cannot_open_orders(make_user, place_order):
    client = Client()
    client.force_login(make_user("store_associate"))

    assert client.get("/backoffice/orders/").status_code == 403


def test_a_csr_edits_the_address_during_the_grace_period(csr_page, place_order):
    order = place_order()

    form = csr_page.get(f"/backoffice/orders/{order.number}/edit/").content.decode()
    done = csr_page.post(
        f"/backoffice/orders/{order.number}/edit/",
        {
            "customer_name": "Ada King",
            "customer_email": "ada@example.com",
            "customer_phone": "",
            "shipping_method": "express",
            "notes": "",
            "address_line1": "3 New Road",
            "city": "Bath",
            "postal_code": "BA1",
            "country": "GB",
        },
        follow=True,
    ).content.decode()

    assert 'value="1 Analytical Row"' in form
    assert f"Order {order.number} updated." in done
    order.refresh_from_db()
    assert order.shipping_address["city"] == "Bath"
    assert order.shipping_method == "express"


def test_bulk_approve_approves_the_held_orders_and_says_which_were_refused(
    csr_page, channel, opened_order
):
    channel.order_value_limit = Decimal("10.00")
    channel.save()
    held = opened_order()
    channel.order_value_limit = None
    channel.save()
    opened = opened_order()

    done = csr_page.post(
        "/backoffice/orders/bulk/",
        {
            "action": "approve",
            "orders": [held.number, opened.number],
            "confirmed": "yes",
            "text": "Reviewed by phone",
        },
        follow=True,
    ).content.decode()

    assert "1 of 2 orders approved." in done
    assert opened.number in done
    held.refresh_from_db()
    assert held.status == "opened"


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", ""),
        ("get", "edit/"),
        ("post", "edit/"),
        ("post", "approve/"),
        ("post", "cancel/"),
        ("post", "cancel-items/"),
        ("post", "swap/"),
    ],
)
def test_every_order_page_says_not_found_for_an_unknown_order(csr_page, method, path):
    response = getattr(csr_page, method)(f"/backoffice/orders/NO-SUCH-ORDER/{path}")

    assert response.status_code == 404


@pytest.mark.parametrize("quantity", ["²", "9" * 30, "-1", "abc"])
def test_cancelling_items_with_a_quantity_that_is_no_number_asks_again(
    csr_page, opened_order, quantity
):
    order = opened_order()
    line_a = order.lines.get(sku="SKU-A")

    response = csr_page.post(
        f"/backoffice/orders/{order.number}/cancel-items/",
        {f"qty-{line_a.pk}": quantity, "reason": "Damaged"},
        follow=True,
    )

    assert response.status_code == 200
    assert "Choose quantities to cancel and give a reason." in response.content.decode()
    line_a.refresh_from_db()
    assert line_a.quantity_cancelled == 0
