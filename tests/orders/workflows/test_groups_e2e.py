"""An admin builds a step group from the chart page, in a real browser: creates
it, adds its steps, runs it from a step of the chart, and the next order runs
its members."""

import pytest
from playwright.sync_api import expect

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_a_group_built_on_its_page_runs_from_the_chart(
    page, live_server, login, screenshot, make_user, place_order
):
    login(page, make_user("admin", username="ada-admin"))
    page.goto(f"{live_server.url}/backoffice/workflows/standard/")
    page.get_by_role("link", name="Step groups").click()

    page.get_by_label("Code").fill("vip-care")
    page.get_by_label("Name").fill("VIP care")
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_role("heading", name="Step group VIP care")).to_be_visible()
    for name, tag in (("Tag VIP", "vip"), ("Tag priority", "priority")):
        step_form = page.locator("#add-step")
        step_form.get_by_label("Name").fill(name)
        step_form.get_by_label("Action").select_option("add_tags")
        step_form.get_by_label("Params").fill(f'{{"tags": ["{tag}"]}}')
        step_form.get_by_label("Timing").select_option("sync")
        step_form.get_by_role("button", name="Add step").click()
        expect(page.get_by_text(f"Step “{name}” added to VIP care.")).to_be_visible()
    members = page.get_by_role("region", name="Steps, in running order")
    expect(members.get_by_role("listitem")).to_have_text(
        [
            "Tag VIP add_tags",
            "Tag priority add_tags",
        ],
        use_inner_text=True,
    )
    screenshot(page, "workflow-step-group")

    page.goto(f"{live_server.url}/backoffice/workflows/standard/?stage=created")
    page.get_by_label("Name").fill("VIP care")
    page.get_by_label("Action").select_option("run_group")
    page.get_by_label("Group to run").select_option("vip-care")
    page.get_by_label("Timing").select_option("sync")
    page.get_by_role("button", name="Add step").click()
    expect(page.get_by_test_id("stage-created")).to_contain_text("run_group → VIP care")

    order = place_order()

    order.refresh_from_db()
    assert order.tags == ["vip", "priority"]
