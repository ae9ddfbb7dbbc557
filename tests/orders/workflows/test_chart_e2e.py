"""An admin adds a step on the workflow chart, in a real browser, and the next
order runs it."""

import pytest
from playwright.sync_api import expect

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_a_step_added_on_the_chart_runs_on_the_next_order(
    page, live_server, login, screenshot, make_user, place_order
):
    login(page, make_user("admin", username="ada-admin"))

    page.goto(f"{live_server.url}/backoffice/workflows/standard/")
    page.get_by_test_id("stage-created").get_by_role(
        "link", name="Add a step here"
    ).click()
    page.get_by_label("Name").fill("Tag web orders")
    page.get_by_label("Action").select_option("add_tags")
    page.get_by_label("Params").fill('{"tags": ["from-the-chart"]}')
    page.get_by_label("Timing").select_option("sync")
    page.get_by_label("Only for channels").fill("web")
    page.get_by_role("button", name="Add step").click()

    created = page.get_by_test_id("stage-created")
    expect(created).to_contain_text("Tag web orders")
    expect(created).to_contain_text("only channels: web")
    screenshot(page, "workflow-chart")

    order = place_order()

    page.goto(f"{live_server.url}/backoffice/orders/{order.number}/")
    expect(page.get_by_text("Step “Tag web orders”: success")).to_be_visible()
    order.refresh_from_db()
    assert order.tags == ["from-the-chart"]
