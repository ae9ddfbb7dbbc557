"""Journey 4: a customer sent back the last item of an order whose other items came
back earlier; the customer-service rep processes the return and sees the shipping
cost refunded with it."""

import pytest
from playwright.sync_api import expect

from returns.services import return_create
from tests.e2e.steps import return_items, timeline_row
from tests.returns.conftest import item

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_csr_returns_the_last_item_and_sees_the_shipping_refund(
    page, login, screenshot, make_user, shipped_order, places
):
    # The two SKU-A came back through the store earlier (22.00 refunded).
    return_create(
        order=shipped_order,
        items=[item(shipped_order, "SKU-A", 2)],
        location=places["near"],
        actor=None,
    )
    login(page, make_user("csr", username="carla"))

    return_items(page, shipped_order, {"SKU-B": 1})

    # The last item back brings the shipping cost with it: 27.50 + 5.50.
    preview = page.get_by_test_id("refund-preview")
    expect(preview.get_by_role("row").filter(has_text="SKU-B")).to_contain_text(
        "27.50 USD"
    )
    expect(page.get_by_test_id("preview-shipping")).to_contain_text(
        "Shipping cost (last item back)"
    )
    expect(page.get_by_test_id("preview-shipping")).to_contain_text("5.50 USD")
    expect(page.get_by_test_id("preview-total")).to_have_text("33.00 USD")
    # Only SKU-B was still out with the customer.
    expect(page.get_by_label("Units of SKU-A to return")).to_have_count(0)
    screenshot(page, "journey-4-return-preview-with-shipping")
    page.get_by_role("button", name="Confirm return").click()

    expect(page.get_by_test_id("return-status")).to_have_text("Processed")
    expect(page.get_by_role("status")).to_contain_text("33.00 USD refunded")
    expect(page.get_by_test_id("total-refund")).to_have_text("33.00 USD")
    lines = page.get_by_test_id("return-lines")
    expect(lines.get_by_role("row").filter(has_text="SKU-B")).to_contain_text(
        "Restocked at CAMDEN"
    )
    expect(lines.get_by_role("row").filter(has_text="Shipping cost")).to_contain_text(
        "5.50 USD"
    )
    refund = page.get_by_test_id("refunds").get_by_role("row").nth(1)
    expect(refund).to_contain_text("33.00 USD")
    expect(refund).to_contain_text("Succeeded")
    screenshot(page, "journey-4-return-processed")

    # The order: everything back, everything refunded, shipping included.
    page.get_by_role("link", name=shipped_order.number).click()
    expect(page.get_by_test_id("order-fully-returned")).to_be_visible()
    expect(page.get_by_test_id("refunded-amount")).to_have_text("55.00 USD")
    expect(page.get_by_test_id("net")).to_have_text("0.00 USD")
    refunds = timeline_row(page, "payment_account.amount_refunded")
    expect(refunds).to_have_count(2)
    expect(refunds.last).to_contain_text("33.00 USD · for RMA-")
    screenshot(page, "journey-4-return-order-refunded")
