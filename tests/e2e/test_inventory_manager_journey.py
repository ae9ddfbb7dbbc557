"""Journey 3: an inventory manager closes a transfer order that arrived short, then
reviews a store's cycle count, sees the discrepancy and approves it, and finds the
stock adjusted."""

import pytest
from playwright.sync_api import expect

from inventory import services as inventory_services
from inventory.services import ItemQuantity
from tests.e2e.steps import cells, open_from_sidebar

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_inventory_manager_closes_a_short_transfer_and_approves_a_count(
    page, login, screenshot, make_user, places, products, receive
):
    dc, camden = places["dc"], places["near"]
    jeans, shirt, cap = products["SKU-A"], products["SKU-B"], products["SKU-C"]
    # The DC ships 7 of 10 requested units; the store receives 6 of them.
    receive(dc, jeans, 10)
    transfer = inventory_services.transfer_order_create(
        origin=dc, destination=camden, items=[ItemQuantity(jeans, 10)]
    )
    inventory_services.transfer_order_ship(
        transfer_order=transfer, quantities={jeans.pk: 7}, carrier="DHL"
    )
    inventory_services.transfer_order_receive(
        transfer_order=transfer, items=[ItemQuantity(jeans, 6)]
    )
    # A store associate counted 5 shirts where the ledger says 7, and 3 caps.
    receive(camden, shirt, 7)
    receive(camden, cap, 3)
    sam = make_user("store_associate", username="sam")
    inventory_services.location_assign_staff(user=sam, location=camden)
    count = inventory_services.cycle_count_create(
        location=camden, products=[shirt, cap]
    )
    inventory_services.cycle_count_submit(
        cycle_count=count, counts={shirt.pk: 5, cap.pk: 3}, actor=sam
    )
    login(page, make_user("inventory_manager", username="ines"))

    open_from_sidebar(page, "Transfer orders")
    row = page.get_by_test_id(f"transfer-order-{transfer.number}")
    # From, to, status, requested, shipped, received.
    assert cells(row)[1:7] == ["DC-MAN", "CAMDEN", "Partially received", "10", "7", "6"]
    row.get_by_role("link", name=transfer.number).click()
    page.get_by_role("link", name="Close…").click()

    summary = page.get_by_test_id("close-summary")
    expect(summary).to_contain_text("3 units never shipped will be cancelled.")
    expect(summary).to_contain_text(
        "1 unit shipped but not received will be booked as not received"
    )
    screenshot(page, "journey-3-inventory-close-preview")
    page.get_by_label("Reason (optional)").fill("3 left behind, 1 lost in transit")
    page.get_by_role("button", name="Close transfer order").click()

    expect(page.get_by_role("status")).to_have_text(f"{transfer.number} closed.")
    expect(page.get_by_test_id("status")).to_have_text("Closed")
    # Requested, reserved at origin, shipped, received, cancelled, not received.
    assert cells(page.get_by_test_id("line-SKU-A"))[2:8] == [
        "10",
        "0",
        "7",
        "6",
        "3",
        "1",
    ]
    expect(page.get_by_role("link", name="Close…")).to_have_count(0)
    screenshot(page, "journey-3-inventory-transfer-closed")

    # Sam's count waits for review: one discrepancy.
    open_from_sidebar(page, "Cycle counts")
    row = page.get_by_test_id(f"count-{count.pk}")
    assert cells(row)[1:5] == ["CAMDEN", "Counted (awaiting review)", "2", "1"]
    row.get_by_role("link", name=f"Count {count.pk}").click()

    expect(page.get_by_role("heading", name="Review: 1 discrepancy")).to_be_visible()
    # Expected (the ledger when counted), counted, discrepancy.
    assert cells(page.get_by_test_id("line-SKU-B"))[2:5] == ["7", "5", "-2"]
    assert cells(page.get_by_test_id("line-SKU-C"))[2:5] == ["3", "3", "0"]
    screenshot(page, "journey-3-inventory-count-review")
    page.get_by_label("Comment (optional)").fill("Two shirts missing, confirmed")
    page.get_by_role("button", name="Approve and adjust stock").click()

    expect(page.get_by_role("status")).to_contain_text(
        f"Count {count.pk} approved; discrepancies posted to stock."
    )
    expect(page.get_by_test_id("status")).to_have_text("Approved")
    expect(page.get_by_role("button", name="Approve and adjust stock")).to_have_count(0)

    open_from_sidebar(page, "Stock")
    page.get_by_label("Location").select_option("CAMDEN")
    page.get_by_label("Product (SKU or name)").fill("SKU-B")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**q=SKU-B**")
    # On hand, reserved, safety stock, available.
    assert cells(page.get_by_test_id("stock-CAMDEN-SKU-B"))[3:7] == ["5", "0", "0", "5"]
    screenshot(page, "journey-3-inventory-stock-adjusted")
