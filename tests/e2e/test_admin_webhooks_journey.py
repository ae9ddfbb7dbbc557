"""Journey 5: an admin connects the ERP: adds a webhook subscription, sees the
delivery of a real order event fail at the ERP's end, and re-delivers it once the
ERP is back. The receiver verifies every signature as a consumer would."""

import pytest
from playwright.sync_api import expect

from oms.models import WebhookDelivery, WebhookSubscription
from tests.e2e.steps import open_from_sidebar
from tests.oms.webhook_receiver import Receiver

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_admin_adds_a_subscription_and_redelivers_a_failed_delivery(
    page, login, make_user, screenshot, settings, place_order
):
    settings.OMS_WEBHOOK_BACKOFF_SECONDS = []  # the first failure is final
    with Receiver(statuses=[500]) as erp:
        login(page, make_user("admin", username="alex"))
        open_from_sidebar(page, "Webhooks")
        page.get_by_label("Name").fill("ERP")
        page.get_by_label("Endpoint URL").fill(erp.url)
        page.get_by_label("Event patterns").fill("order.*")
        page.get_by_role("button", name="Add subscription").click()

        secret_box = page.get_by_test_id("new-secret")
        expect(secret_box).to_contain_text("shown once")
        erp.secret = secret_box.locator("code").inner_text()
        assert erp.secret == WebhookSubscription.objects.get().secret
        row = page.get_by_role("row").filter(has_text="ERP")
        expect(row).to_contain_text(erp.url)
        expect(row).to_contain_text("order.*")
        expect(row).to_contain_text("active")
        screenshot(page, "journey-5-webhook-subscribed")

        # The web shop sends an order; the ERP answers 500.
        order = place_order()

        row.get_by_role("link", name="Deliveries").click()
        delivery = WebhookDelivery.objects.get()
        row = page.get_by_test_id(f"delivery-{delivery.pk}")
        expect(row).to_contain_text("order.created")
        expect(row).to_contain_text("Failed")
        expect(row).to_contain_text("HTTP 500")
        screenshot(page, "journey-5-webhook-delivery-failed")

        row.get_by_role("button", name="Re-deliver").click()
        expect(page.get_by_role("status")).to_contain_text(
            f"Delivery #{delivery.pk} queued again."
        )
        page.reload()
        row = page.get_by_test_id(f"delivery-{delivery.pk}")
        expect(row).to_contain_text("Succeeded")
        expect(row).to_contain_text("HTTP 200")
        screenshot(page, "journey-5-webhook-redelivered")

    assert [r["status"] for r in erp.received] == [500, 200]
    assert {r["envelope"]["payload"]["number"] for r in erp.received} == {order.number}
    assert erp.forged == 0
