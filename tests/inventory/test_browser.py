"""Staff close a partly fulfilled transfer order and approve a count in a real
browser."""

import re

import pytest

from inventory import services
from inventory.models import CycleCount, Location, StockLevel, TransferOrder
from oms.roles import Role

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

Item = services.ItemQuantity


def test_closing_a_partly_fulfilled_transfer_order(
    page,
    live_server,
    login,
    make_user,
    make_location,
    make_product,
    receive,
    screenshot,
):
    dc = make_location("DC-E2E", type=Location.Type.DC)
    store = make_location("ST-E2E")
    product = make_product("JEANS-32")
    receive(dc, product, 9)
    transfer_order = services.transfer_order_create(
        origin=dc, destination=store, items=[Item(product, 10)]
    )
    services.transfer_order_ship(transfer_order=transfer_order, carrier="DHL")
    services.transfer_order_receive(transfer_order=transfer_order)
    login(page, make_user(Role.INVENTORY_MANAGER))

    page.goto(
        f"{live_server.url}/backoffice/inventory/transfer-orders/?status=received"
    )
    row = page.get_by_test_id(f"transfer-order-{transfer_order.number}")
    assert row.get_by_role("cell").nth(4).inner_text() == "10"
    assert row.get_by_role("cell").nth(5).inner_text() == "9"
    row.get_by_role("link", name=transfer_order.number).click()
    page.get_by_role("link", name="Close…").click()

    summary = page.get_by_test_id("close-summary")
    assert "1 unit never shipped will be cancelled." in summary.inner_text()
    screenshot(page, "inventory-transfer-order-close")
    page.get_by_label("Reason (optional)").fill("origin short by one")
    page.get_by_role("button", name="Close transfer order").click()

    page.wait_for_url(re.compile(rf".*/transfer-orders/{transfer_order.pk}/$"))
    assert (
        page.get_by_role("status").inner_text().strip()
        == f"{transfer_order.number} closed."
    )
    assert page.get_by_test_id("status").inner_text() == "Closed"
    line = page.get_by_test_id(f"line-{product.sku}").get_by_role("cell")
    assert [line.nth(i).inner_text() for i in (2, 4, 5, 6)] == ["10", "9", "9", "1"]
    assert page.get_by_role("link", name="Close…").count() == 0
    transfer_order.refresh_from_db()
    assert transfer_order.status == TransferOrder.Status.CLOSED


def test_approving_a_count_posts_the_discrepancy(
    page,
    live_server,
    login,
    make_user,
    make_location,
    make_product,
    receive,
    screenshot,
):
    store = make_location("ST-COUNT")
    shirt, cap = make_product("TEE-M"), make_product("CAP-1")
    receive(store, shirt, 7)
    receive(store, cap, 3)
    count = services.cycle_count_create(location=store, products=[shirt, cap])
    login(page, make_user(Role.INVENTORY_MANAGER))

    page.goto(f"{live_server.url}/backoffice/inventory/cycle-counts/{count.pk}/")
    page.get_by_label("Counted TEE-M").fill("5")
    page.get_by_label("Counted CAP-1").fill("3")
    page.get_by_role("button", name="Submit count").click()

    assert page.get_by_test_id("status").inner_text() == "Counted (awaiting review)"
    assert page.get_by_role("heading", name="Review: 1 discrepancy").is_visible()
    flagged = page.get_by_test_id("line-TEE-M")
    assert flagged.get_attribute("class") == "highlight"
    assert flagged.get_by_role("cell").nth(4).inner_text() == "-2"
    assert page.get_by_test_id("line-CAP-1").get_attribute("class") is None
    screenshot(page, "inventory-count-review")
    page.get_by_role("button", name="Approve and adjust stock").click()

    assert "discrepancies posted to stock" in page.get_by_role("status").inner_text()
    assert page.get_by_test_id("status").inner_text() == "Approved"
    count.refresh_from_db()
    assert count.status == CycleCount.Status.APPROVED
    assert StockLevel.objects.get(location=store, product=shirt).on_hand == 5
    page.goto(
        f"{live_server.url}/backoffice/inventory/ledger/?sku=TEE-M&type=count_adjustment"
    )
    assert page.get_by_role("cell", name="-2", exact=True).is_visible()
