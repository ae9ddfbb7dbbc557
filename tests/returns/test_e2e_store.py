"""A store associate takes back two of three items of an order, then the last
one, and sees the shipping cost refunded with it, in a real browser."""

import pytest
from playwright.sync_api import expect

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def return_items(page, live_server, order, units: dict[str, int]):
    page.goto(f"{live_server.url}/backoffice/returns/")
    page.get_by_label("Order number").fill(order.number)
    page.get_by_role("button", name="Return items…").click()
    for sku, count in units.items():
        page.get_by_label(f"Units of {sku} to return").fill(str(count))
        page.get_by_label(f"Condition of {sku}").select_option("resellable")
    page.get_by_label("Receiving location").select_option(label="CAMDEN CAMDEN")
    page.get_by_role("button", name="Preview refund").click()


def test_a_store_associate_returns_two_items_then_the_last_with_shipping(
    page, live_server, login, screenshot, shipped_order, associate
):
    login(page, associate)

    return_items(page, live_server, shipped_order, {"SKU-A": 2})
    expect(page.get_by_test_id("preview-total")).to_have_text("22.00 USD")
    expect(page.get_by_test_id("preview-shipping")).to_have_count(0)
    page.get_by_role("button", name="Confirm return").click()
    expect(page.get_by_test_id("return-status")).to_have_text("Processed")
    expect(page.get_by_test_id("total-refund")).to_have_text("22.00 USD")
    expect(page.get_by_test_id("return-lines")).not_to_contain_text("Shipping cost")

    return_items(page, live_server, shipped_order, {"SKU-B": 1})
    expect(page.get_by_test_id("preview-shipping")).to_contain_text("5.50 USD")
    expect(page.get_by_test_id("preview-total")).to_have_text("33.00 USD")
    screenshot(page, "returns-last-item-preview")
    page.get_by_role("button", name="Confirm return").click()

    expect(page.get_by_test_id("return-status")).to_have_text("Processed")
    expect(page.get_by_test_id("total-refund")).to_have_text("33.00 USD")
    lines = page.get_by_test_id("return-lines")
    expect(lines).to_contain_text("Shipping cost")
    expect(lines).to_contain_text("5.50 USD")
    expect(lines).to_contain_text("Restocked at CAMDEN")
    screenshot(page, "returns-last-item-with-shipping")
