"""A CSR bulk-cancels orders from the list in a real browser; a real Celery worker
runs the job while the page's progress bar follows it to 100%."""

import pytest
from playwright.sync_api import expect

from orders import services
from orders.models import Order
from tests.integration_support import needs_services, purge_queue, worker_thread

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    needs_services,
]


def test_a_csr_bulk_cancels_orders_and_watches_the_job_finish(
    page, live_server, login, screenshot, make_user, opened_order
):
    csr = make_user("csr", username="carla")
    orders = [opened_order() for _ in range(3)]
    gone = opened_order()
    services.order_cancel(order=gone, actor=csr, reason="Earlier call")
    purge_queue()
    login(page, csr)

    page.goto(f"{live_server.url}/backoffice/orders/")
    for order in [*orders, gone]:
        page.get_by_label(f"Select {order.number}").check()
    page.get_by_label("With the selected orders").select_option("cancel")
    page.get_by_role("button", name="Continue…").click()

    expect(page.get_by_role("heading", name="Cancel 4 orders?")).to_be_visible()
    page.get_by_label("Reason (required)").fill("Customer called: duplicates")
    screenshot(page, "orders-bulk-cancel-confirm")
    with worker_thread():
        page.get_by_role("button", name="Cancel 4 orders").click()

        bar = page.get_by_role("progressbar")
        expect(bar).to_have_attribute("value", "100", timeout=60_000)
        # When the job ends the page reloads with every row's result.
        expect(page.locator("#job")).to_have_attribute(
            "data-finished", "true", timeout=30_000
        )

    expect(page.get_by_role("heading", name="Cancel orders")).to_be_visible()
    expect(page.get_by_text("Partly failed").first).to_be_visible()
    expect(page.locator('[data-field="rows_succeeded"]')).to_have_text("3")
    expect(page.locator('[data-field="rows_failed"]')).to_have_text("1")
    for order in orders:
        row = page.locator("#job-rows tr", has_text=order.number)
        expect(row).to_contain_text("Succeeded")
        expect(row).to_contain_text("Cancelled; 55.00 USD credited to the customer.")
    failed = page.locator("#job-rows tr", has_text=gone.number)
    expect(failed).to_contain_text("Failed")
    expect(failed).to_contain_text(
        f"Order {gone.number} is cancelled; it can no longer be changed."
    )
    screenshot(page, "orders-bulk-cancel-job")
    assert set(
        Order.objects.filter(pk__in=[o.pk for o in orders]).values_list(
            "status", flat=True
        )
    ) == {"cancelled"}
