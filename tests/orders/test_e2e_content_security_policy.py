# ruff: noqa: F811  (routing fixtures imported, then requested)
"""The back-office works under its Content-Security-Policy: page scripts load from
static files, and a form that asks first (data-confirm) still asks; no page has an
inline script or style that the policy blocks."""

import pytest
from playwright.sync_api import expect

from oms.models import Job
from orders.models import Order
from tests.orders.routing.conftest import default_rules, run_brokering  # noqa: F401

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def record_blocked(page) -> list[str]:
    """What the browser reports blocked by the policy, as it reports it: console
    errors naming the Content Security Policy."""
    blocked = []
    page.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text and blocked.append(message.text)
        ),
    )
    return blocked


def test_cancelling_an_order_asks_first_and_nothing_is_blocked(
    page, live_server, login, make_user, opened_order
):
    order = opened_order()
    blocked = record_blocked(page)
    login(page, make_user("csr"))
    page.goto(f"{live_server.url}/backoffice/orders/{order.number}/")
    page.get_by_label("Cancellation reason").fill("Customer called")

    questions = []
    page.once(
        "dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss())
    )
    page.get_by_role("button", name="Cancel whole order").click()
    page.wait_for_timeout(300)
    order.refresh_from_db()
    assert order.status != Order.Status.CANCELLED  # dismissed: not sent

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel whole order").click()

    expect(page.get_by_text(f"Order {order.number} cancelled.")).to_be_visible()
    assert questions and questions[0].startswith(
        f"Cancel the whole order {order.number}?"
    )
    assert blocked == []


def test_pages_with_progress_bars_charts_and_forms_break_no_rule_of_the_policy(
    page, live_server, login, make_user, opened_order, run_brokering
):
    order = opened_order()
    run = run_brokering()
    job = Job.objects.create(kind="orders.release", dry_run=True, source="e2e")
    blocked = record_blocked(page)
    login(page, make_user("admin"))

    for path, heading in [
        ("/backoffice/", "Dashboard"),
        (f"/backoffice/orders/{order.number}/", order.number),
        ("/backoffice/fulfillment/runs/", "Brokering runs"),
        (f"/backoffice/jobs/{job.pk}/", f"Job {job.pk}"),
        ("/backoffice/no-such-page/", "Not found"),
    ]:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        if "runs" in path:
            bar = page.get_by_role("progressbar", name=f"Progress of run {run.pk}")
            expect(bar).to_have_attribute("value", "100")

    assert blocked == []
