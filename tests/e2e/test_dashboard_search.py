"""A CSR's dashboard draws its charts from the app's JSON, and the search box in
the header jumps to what it finds, in a real browser."""

import pytest
from django.urls import reverse

from inventory import services as inventory_services
from orders import services as order_services
from orders.intake import order_create
from tests.orders.conftest import order_input

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def orders(db):
    order_services.channel_create(code="web", name="Web shop")
    for sku in ("SKU-A", "SKU-B"):
        inventory_services.product_create(sku=sku, name=f"Product {sku}")
    return [
        order_create(data=order_input(customer_email=email))[0]
        for email in ("kim@example.com", "kim@example.com", "lee@example.com")
    ]


def test_dashboard_charts_render_with_data(
    page, live_server, login, make_user, orders, screenshot
):
    login(page, make_user("csr"))
    page.goto(f"{live_server.url}{reverse('backoffice:dashboard')}")

    chart = page.locator("#chart-orders-by-status svg")
    chart.wait_for()
    assert page.get_by_text("As of").first.is_visible()
    assert (
        page.locator("#chart-orders-by-status polyline[data-series='Created']").count()
        == 1
    )
    points = page.locator("#chart-orders-by-status circle title").all_text_contents()
    assert any(text.endswith(": 3") for text in points)
    assert page.locator("#chart-lead-time").is_visible()
    assert page.locator("#charts-status").inner_text().startswith("As of")
    screenshot(page, "dashboard-csr")


def test_search_box_jumps_to_an_order_or_lists_several(
    page, live_server, login, make_user, orders, screenshot
):
    login(page, make_user("csr"))
    search = page.get_by_role("searchbox", name="Search")

    search.fill(orders[2].number.lower())
    search.press("Enter")
    page.wait_for_url(f"**/orders/{orders[2].number}/")
    assert orders[2].number in page.locator("h1").inner_text()

    page.get_by_role("searchbox", name="Search").fill("KIM@example.com")
    page.get_by_role("searchbox", name="Search").press("Enter")
    page.wait_for_url("**/search/?q=*")
    assert page.get_by_text("2 results for “KIM@example.com”").is_visible()
    assert page.get_by_role("link", name=orders[1].number).is_visible()
    screenshot(page, "search-results")
