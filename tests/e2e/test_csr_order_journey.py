"""Journey 1: a customer-service rep on the phone with a customer finds her order by
email, sees the item that no location can fill, swaps it for one in stock and sees
the order routed again; then cancels a line of another customer's order and sees
the money given back on its timeline."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from orders.intake import LineInput
from tests.e2e.steps import cells, open_from_sidebar, timeline_row

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def find_order(page, query: str):
    """Search the orders list as a CSR types into its search box."""
    open_from_sidebar(page, "Orders")
    filters = page.get_by_role("form", name="Filter orders")
    filters.get_by_label("Search").fill(query)
    filters.get_by_role("button", name="Filter").click()


def test_csr_swaps_an_unfillable_item_and_cancels_a_line_of_another_order(
    page,
    login,
    screenshot,
    make_user,
    london_order,
    places,
    products,
    put_stock,
    run_brokering,
):
    camden, croydon = places["near"], places["far"]
    # SKU-B is nowhere; SKU-D, which the customer accepts instead, is in Croydon.
    put_stock(camden, products["SKU-A"], 2)
    put_stock(croydon, products["SKU-C"], 2)
    put_stock(croydon, products["SKU-D"], 3)
    ada = london_order(customer_email="ada@example.com")
    grace = london_order(
        customer_name="Grace Hopper",
        customer_email="grace@example.com",
        lines=[
            LineInput(
                sku="SKU-C", quantity=2, unit_price=Decimal("10.00"), tax=Decimal("2")
            ),
            LineInput(
                sku="SKU-D", quantity=1, unit_price=Decimal("25.00"), tax=Decimal("2.5")
            ),
        ],
    )
    run_brokering()  # the scheduled run: Ada's order cannot be placed, Grace's can
    login(page, make_user("csr", username="carla"))

    # Ada calls: the CSR finds her order by email.
    find_order(page, "ada@example.com")
    expect(page.get_by_role("link", name=ada.number)).to_be_visible()
    expect(page.get_by_role("link", name=grace.number)).to_have_count(0)
    expect(page.get_by_role("row").filter(has_text=ada.number)).to_contain_text(
        "Unfillable"
    )
    screenshot(page, "journey-1-csr-found-by-email")

    page.get_by_role("link", name=ada.number).click()
    fulfillment = page.get_by_role("region", name="Fulfillment")
    expect(fulfillment).to_contain_text("Waiting in queue Unfillable")
    expect(fulfillment.get_by_test_id("short-lines")).to_contain_text(
        "No location has enough of: SKU-B (1 missing)"
    )
    expect(page.get_by_test_id("line-SKU-A")).to_contain_text("open")
    screenshot(page, "journey-1-csr-sees-unfillable-item")

    page.get_by_label("Line to replace").select_option(label="#2 SKU-B (1 left)")
    page.get_by_label("Quantity").fill("1")
    page.get_by_label("New SKU").fill("SKU-D")
    page.get_by_label("Swap reason").fill("Customer accepts the blue one")
    page.get_by_role("button", name="Preview swap").click()
    # Same price: the units carried 27.50 and the new ones carry as much.
    expect(page.get_by_test_id("swap-preview")).to_have_text(
        "The price is the same: no money moves."
    )
    page.get_by_role("button", name="Confirm swap").click()

    expect(
        page.get_by_text(f"Items of order {ada.number} swapped for SKU-D.")
    ).to_be_visible()
    expect(page.get_by_test_id("line-SKU-B")).to_contain_text("cancelled")
    expect(page.get_by_test_id("line-SKU-D")).to_contain_text("replaces line 2")
    expect(fulfillment).to_contain_text("Waiting in queue Brokering")
    expect(fulfillment.get_by_test_id("short-lines")).to_have_count(0)

    # Rather than wait for the next scheduled run, the CSR starts one.
    open_from_sidebar(page, "Brokering runs")
    page.get_by_role("button", name="Start brokering run").click()
    expect(page.get_by_role("status")).to_contain_text("Brokering run of Default")
    runs = page.get_by_role("row").filter(has_text="Default")
    expect(runs).to_have_count(2)
    # Newest first: it saw one order (Ada's) and split it over two stores.
    assert cells(runs.first)[2:7] == ["Completed", "", "1 / 1", "1", "1"]
    screenshot(page, "journey-1-csr-brokering-run")

    find_order(page, ada.number)
    page.get_by_role("link", name=ada.number).click()
    expect(page.get_by_test_id("order-status")).to_have_text("In fulfillment")
    expect(fulfillment).not_to_contain_text("Waiting in queue")
    expect(fulfillment).to_contain_text(f"{ada.number}-F1 at CAMDEN · Assigned")
    expect(fulfillment).to_contain_text("SKU-A × 2")
    expect(fulfillment).to_contain_text(f"{ada.number}-F2 at CROYDON · Assigned")
    expect(fulfillment).to_contain_text("SKU-D × 1")
    expect(timeline_row(page, "order.items_swapped")).to_contain_text(
        "Customer accepts the blue one"
    )
    screenshot(page, "journey-1-csr-routed-again")

    # Grace calls: she no longer wants SKU-D; the store still holds her order.
    find_order(page, "grace@example.com")
    page.get_by_role("link", name=grace.number).click()
    page.get_by_label("Units of SKU-D").fill("1")
    page.get_by_label("Reason for cancelling units").fill("Customer changed her mind")
    page.get_by_role("button", name="Preview cancellation of the chosen units").click()
    expect(page.get_by_role("main")).to_contain_text(
        "27.50 USD will go back to the customer"
    )
    screenshot(page, "journey-1-csr-cancel-preview")
    page.get_by_role("button", name="Confirm cancellation").click()

    expect(
        page.get_by_text(f"Items of order {grace.number} cancelled.")
    ).to_be_visible()
    expect(page.get_by_test_id("line-SKU-D")).to_contain_text("cancelled")
    expect(page.get_by_test_id("net")).to_have_text("27.50 USD")
    expect(page.get_by_test_id("voided-amount")).to_have_text("27.50 USD")
    expect(timeline_row(page, "order.items_cancelled")).to_contain_text(
        "Customer changed her mind · 27.50 USD"
    )
    expect(timeline_row(page, "payment_account.amount_voided")).to_contain_text(
        "27.50 USD"
    )
    # SKU-C is still with Croydon: nothing waits for routing.
    expect(page.get_by_role("region", name="Fulfillment")).not_to_contain_text(
        "Waiting in queue"
    )
    screenshot(page, "journey-1-csr-cancelled-line")


def test_csr_adds_a_unit_and_drops_a_line_while_the_order_is_in_its_grace_period(
    page, login, screenshot, make_user, place_order
):
    # The customer calls minutes after ordering: one more SKU-A, and no SKU-B.
    order = place_order(customer_email="ada@example.com")
    login(page, make_user("csr", username="carla"))
    find_order(page, order.number)
    page.get_by_role("link", name=order.number).click()
    page.get_by_role("link", name="Edit order").click()

    rows = page.get_by_test_id("edit-lines").get_by_role("row")
    sku_a, sku_b = rows.nth(1), rows.nth(2)
    expect(sku_a.get_by_label("SKU")).to_have_value("SKU-A")
    sku_a.get_by_label("Quantity").fill("3")
    sku_a.get_by_label("Tax").fill("3.00")
    sku_b.get_by_label("Remove").check()
    screenshot(page, "journey-1-csr-edits-lines")
    page.get_by_role("button", name="Save changes").click()

    # 3 × 10.00 + 3.00 tax + 5.50 shipping
    expect(
        page.get_by_text(f"Order {order.number} updated; total 38.50 USD.")
    ).to_be_visible()
    expect(page.get_by_test_id("line-SKU-A")).to_contain_text("3")
    expect(page.get_by_test_id("line-SKU-B")).to_have_count(0)
    expect(page.get_by_test_id("net")).to_have_text("38.50 USD")
    expect(timeline_row(page, "order.updated")).to_have_count(1)
    expect(timeline_row(page, "payment_account.amount_voided")).to_contain_text(
        "16.50 USD"
    )
