"""Journey 2: a store associate works the store's fulfillment requests: sees only
the store's own, rejects a damaged line, packs and ships the rest with a tracking
number."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from inventory import services as inventory_services
from orders.intake import LineInput
from orders.routing.models import FulfillmentRequest
from tests.e2e.steps import cells, open_from_sidebar

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_store_associate_rejects_a_line_then_packs_and_ships_the_rest(
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
    camden, croydon = places["near"], places["far"]
    put_stock(camden, products["SKU-A"], 2)
    put_stock(camden, products["SKU-B"], 1)
    put_stock(croydon, products["SKU-C"], 1)
    order = london_order()
    elsewhere = london_order(
        lines=[LineInput(sku="SKU-C", quantity=1, unit_price=Decimal("30.00"))]
    )
    run_brokering()
    request = FulfillmentRequest.objects.get(order=order)
    other_store_request = FulfillmentRequest.objects.get(order=elsewhere)
    assert (request.location, other_store_request.location) == (camden, croydon)
    sam = make_user("store_associate", username="sam")
    inventory_services.location_assign_staff(user=sam, location=camden)
    login(page, sam)

    # Only Camden's request is on Sam's list; Croydon's is refused by URL too.
    open_from_sidebar(page, "Fulfillment requests")
    requests = page.get_by_role("row").filter(has=page.get_by_role("link"))
    expect(requests).to_have_count(1)
    assert cells(requests)[:5] == [
        request.number,
        order.number,
        "CAMDEN",
        "Ship",
        "Assigned",
    ]
    expect(page.get_by_role("main")).not_to_contain_text(other_store_request.number)
    screenshot(page, "journey-2-store-own-requests")
    refused = page.goto(
        f"{live_server.url}/backoffice/fulfillment/requests/{other_store_request.pk}/"
    )
    assert refused.status == 404
    page.go_back()

    page.get_by_role("link", name=request.number).click()
    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_role("status")).to_have_text("Request accepted.")
    expect(page.get_by_test_id("status")).to_have_text("Accepted")

    # One SKU-B box is crushed: it goes back to routing, not to the customer.
    page.get_by_label("Units of SKU-B to reject").fill("1")
    page.get_by_label("Reason for rejecting").fill("Box crushed")
    page.get_by_role("button", name="Reject the chosen units").click()
    expect(page.get_by_role("status")).to_have_text(
        "Rejected; the items go back to routing."
    )
    assert cells(page.get_by_test_id("line-SKU-B"))[:5] == [
        "SKU-B",
        "1",
        "0",
        "0",
        "1 (Box crushed)",
    ]
    assert cells(page.get_by_test_id("line-SKU-A"))[:4] == ["SKU-A", "2", "2", "0"]
    screenshot(page, "journey-2-store-rejected-one-line")

    page.get_by_role("button", name="Mark packed").click()
    expect(page.get_by_role("status")).to_have_text("Packed; the invoice is issued.")
    expect(page.get_by_test_id("status")).to_have_text("Packed")
    # The parcel's goods: 2 × SKU-A at 10.00 + 1.00 tax.
    expect(page.get_by_test_id("invoice")).to_have_text(
        f"INV-{request.number} · 22.00 USD"
    )
    expect(page.get_by_role("button", name="Mark packed")).to_have_count(0)

    page.get_by_label("Carrier").fill("Royal Mail")
    page.get_by_label("Tracking number").fill("RM123456789GB")
    page.get_by_role("button", name="Ship the items still held").click()

    expect(page.get_by_role("status")).to_have_text("Shipped.")
    expect(page.get_by_test_id("status")).to_have_text("Completed")
    # 2 × SKU-A (22.00) and the shipping (5.50) are charged with this parcel.
    expect(page.get_by_role("region", name="Summary")).to_contain_text(
        "Royal Mail RM123456789GB · 27.50 USD captured"
    )
    assert cells(page.get_by_test_id("line-SKU-A"))[:4] == ["SKU-A", "2", "0", "2"]
    expect(page.get_by_text("No action: this request is completed.")).to_be_visible()
    screenshot(page, "journey-2-store-shipped-the-rest")

    open_from_sidebar(page, "Fulfillment requests")
    expect(page.get_by_text("Nothing to do.")).to_be_visible()
