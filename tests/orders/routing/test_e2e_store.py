"""A store associate rejects one line of a request and ships the rest, in a real
browser."""

import pytest
from playwright.sync_api import expect

from inventory import services as inventory_services
from orders.routing.models import FulfillmentRequest

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_a_store_associate_rejects_one_line_and_ships_the_rest(
    page,
    live_server,
    login,
    screenshot,
    make_user,
    london_order,
    places,
    products,
    put_stock,
    run_brokering,
):
    for sku in ("SKU-A", "SKU-B"):
        put_stock(places["near"], products[sku], 5)
    put_stock(places["dc"], products["SKU-B"], 5)
    order = london_order()
    run_brokering()
    request = FulfillmentRequest.objects.get(order=order)
    sam = make_user("store_associate", username="sam")
    inventory_services.location_assign_staff(user=sam, location=places["near"])
    login(page, sam)

    page.goto(f"{live_server.url}/backoffice/fulfillment/requests/")
    page.get_by_role("link", name=request.number).click()
    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_text("Request accepted.")).to_be_visible()

    page.get_by_label("Units of SKU-B to reject").fill("1")
    page.get_by_label("Reason for rejecting").fill("Box crushed")
    page.get_by_role("button", name="Reject the chosen units").click()
    expect(page.get_by_text("Rejected; the items go back to routing.")).to_be_visible()
    expect(page.get_by_test_id("line-SKU-B")).to_contain_text("Box crushed")
    screenshot(page, "fulfillment-reject-one-line")

    page.get_by_label("Carrier").fill("Royal Mail")
    page.get_by_label("Tracking number").fill("RM123456789GB")
    page.get_by_role("button", name="Ship the items still held").click()

    expect(page.get_by_text("Shipped.")).to_be_visible()
    expect(page.get_by_test_id("status")).to_have_text("Completed")
    expect(page.get_by_text("RM123456789GB")).to_be_visible()
    screenshot(page, "fulfillment-shipped-rest")

    order.refresh_from_db()
    assert order.queue == "rejected"
    line_a = order.lines.get(sku="SKU-A")
    line_b = order.lines.get(sku="SKU-B")
    assert (line_a.quantity_fulfilled, line_b.quantity_open) == (2, 1)

    run_brokering()  # the rejected line goes elsewhere
    again = FulfillmentRequest.objects.filter(order=order, status="assigned").get()
    assert again.location == places["dc"]
