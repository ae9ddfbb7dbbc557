"""A store associate takes back two of three items of an order, then the last
one, and sees the shipping cost refunded with it, in a real browser."""

import pytest
from playwright.sync_api import expect

from tests.e2e.steps import return_items

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_a_store_associate_returns_two_items_then_the_last_with_shipping(
    page, login, screenshot, shipped_order, associate
):
    login(page, associate)

    return_items(page, shipped_order, {"SKU-A": 2})
    expect(page.get_by_test_id("preview-total")).to_have_text("22.00 USD")
    expect(page.get_by_test_id("preview-shipping")).to_have_count(0)
    page.get_by_role("button", name="Confirm return").click()
    expect(page.get_by_test_id("return-status")).to_have_text("Processed")
    expect(page.get_by_test_id("total-refund")).to_have_text("22.00 USD")
    expect(page.get_by_test_id("return-lines")).not_to_contain_text("Shipping cost")

    return_items(page, shipped_order, {"SKU-B": 1})
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
