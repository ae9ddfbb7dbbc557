"""The back-office works under its Content-Security-Policy: page scripts load from
static files, and a form that asks first (data-confirm) still asks."""

import pytest
from playwright.sync_api import expect

from orders.models import Order

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_cancelling_an_order_asks_first_and_nothing_is_blocked(
    page, live_server, login, make_user, opened_order
):
    order = opened_order()
    blocked = []
    page.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text and blocked.append(message.text)
        ),
    )
    login(page, make_user("csr"))
    page.goto(f"{live_server.url}/backoffice/orders/{order.number}/")
    page.get_by_label("Cancellation reason").fill("Customer called")

    questions = []
    page.once(
        "dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss())
    )
    page.get_by_role("button", name="Cancel whole order").click()
    page.wait_for_timeout(300)
    order.refresh_from_db()
    assert order.status != Order.Status.CANCELLED  # dismissed: not sent

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel whole order").click()

    expect(page.get_by_text(f"Order {order.number} cancelled.")).to_be_visible()
    assert questions and questions[0].startswith(
        f"Cancel the whole order {order.number}?"
    )
    assert blocked == []
