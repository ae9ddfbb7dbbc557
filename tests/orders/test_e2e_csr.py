"""A CSR cancels items and swaps items in a real browser."""

import pytest
from playwright.sync_api import expect

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def csr(make_user):
    return make_user("csr", username="carla")


def test_a_csr_cancels_one_unit_after_previewing_the_refund(
    page, live_server, login, screenshot, csr, opened_order
):
    order = opened_order()
    line_a = order.lines.get(sku="SKU-A")
    login(page, csr)

    page.goto(f"{live_server.url}/backoffice/orders/{order.number}/")
    page.get_by_label("Units of SKU-A").fill("1")
    page.get_by_label("Reason for cancelling units").fill("Damaged in the warehouse")
    page.get_by_role("button", name="Preview cancellation of the chosen units").click()

    expect(page.get_by_test_id("refund-preview")).to_contain_text("11.00 USD")
    screenshot(page, "orders-cancel-items-preview")
    page.get_by_role("button", name="Confirm cancellation").click()

    expect(
        page.get_by_text(f"Items of order {order.number} cancelled.")
    ).to_be_visible()
    row = page.get_by_test_id("line-SKU-A")
    expect(row).to_contain_text("mixed")
    expect(page.get_by_test_id("credited")).to_contain_text("11.00")
    expect(page.get_by_text("order.items_cancelled")).to_be_visible()
    screenshot(page, "orders-cancel-items-done")
    line_a.refresh_from_db()
    assert (line_a.quantity_open, line_a.quantity_cancelled) == (1, 1)


def test_a_csr_swaps_an_item_for_a_cheaper_one(
    page, live_server, login, screenshot, csr, opened_order
):
    order = opened_order()
    line_b = order.lines.get(sku="SKU-B")
    login(page, csr)

    page.goto(f"{live_server.url}/backoffice/orders/{order.number}/")
    page.get_by_label("Line to replace").select_option(str(line_b.pk))
    page.get_by_label("Quantity").fill("1")
    page.get_by_label("New SKU").fill("SKU-D")
    page.get_by_label("New unit price").fill("20.00")
    page.get_by_label("Swap reason").fill("Blue one is out of stock")
    screenshot(page, "orders-swap-form")
    page.get_by_role("button", name="Swap items").click()

    expect(
        page.get_by_text(f"Items of order {order.number} swapped for SKU-D.")
    ).to_be_visible()
    expect(page.get_by_test_id("line-SKU-D")).to_contain_text("replaces line 2")
    expect(page.get_by_text("order.items_swapped")).to_be_visible()
    screenshot(page, "orders-swap-done")
    assert order.lines.get(sku="SKU-D").quantity_open == 1
