"""In a real browser, a store associate takes back two of three items of an order,
then the last one, and sees the shipping cost refunded with it; and a CSR exchanges
an item for a dearer one and follows the link to the replacement order."""

import pytest
from playwright.sync_api import expect

from tests.e2e.steps import open_from_sidebar, return_items

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


def test_a_csr_exchanges_an_item_for_a_dearer_one_and_opens_the_replacement(
    page, login, screenshot, shipped_order, make_user
):
    login(page, make_user("csr"))

    open_from_sidebar(page, "Returns")
    page.get_by_label("Order number").fill(shipped_order.number)
    page.get_by_role("button", name="Return items…").click()
    page.get_by_label("Units of SKU-B to return").fill("1")
    page.get_by_label("Exchange SKU-B for a replacement").check()
    page.get_by_label("Replacement SKU for SKU-B").fill("SKU-C")
    page.get_by_label("Replacement unit price for SKU-B").fill("30.00")
    page.get_by_label("Receiving location").select_option(label="CAMDEN CAMDEN")
    page.get_by_role("button", name="Preview refund").click()

    expect(page.get_by_test_id("preview-SKU-B")).to_contain_text("27.50 USD")
    expect(page.get_by_test_id("replacement-preview")).to_contain_text("1 × SKU-C")
    expect(page.get_by_test_id("preview-difference")).to_have_text("5.50 USD")
    expect(page.get_by_test_id("preview-total")).to_have_text("0.00 USD")
    screenshot(page, "returns-exchange-preview")
    page.get_by_role("button", name="Confirm return").click()

    expect(page.get_by_test_id("return-status")).to_have_text("Processed")
    expect(page.get_by_test_id("total-refund")).to_have_text("0.00 USD")
    replacement = page.get_by_test_id("replacement-order")
    expect(replacement).to_contain_text("27.50 USD of the items' value pays for it")
    screenshot(page, "returns-exchange-processed")
    replacement.get_by_role("link").click()

    expect(page.get_by_test_id("order-status")).to_have_text("Created")
    expect(page.get_by_test_id("replacement-for")).to_contain_text(
        f"of order {shipped_order.number}"
    )
    expect(page.get_by_test_id("exchange-credit")).to_have_text("27.50 USD")
    expect(page.get_by_test_id("line-SKU-C")).to_be_visible()
    screenshot(page, "returns-exchange-replacement-order")
