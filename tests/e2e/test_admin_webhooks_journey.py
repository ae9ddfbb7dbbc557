"""Admin adds a webhook subscription, sees a failed delivery and re-delivers it."""

import pytest
from django.db import transaction

from oms.models import WebhookDelivery, WebhookSubscription
from oms.roles import Role
from oms.services.events import dispatch_events, record_event
from oms.services.webhooks import delivery_attempt
from tests.oms.webhook_receiver import Receiver

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_admin_adds_a_subscription_and_redelivers_a_failed_delivery(
    page, live_server, login, make_user, screenshot, settings
):
    settings.OMS_WEBHOOK_BACKOFF_SECONDS = []  # first failure is final
    admin = make_user(Role.ADMIN)
    with Receiver(statuses=[500]) as receiver:
        login(page, admin)
        page.get_by_role("link", name="Webhooks").click()
        page.get_by_label("Name").fill("ERP")
        page.get_by_label("Endpoint URL").fill(receiver.url)
        page.get_by_label("Event patterns").fill("order.*")
        page.get_by_role("button", name="Add subscription").click()

        secret_box = page.get_by_test_id("new-secret")
        assert "shown once" in secret_box.inner_text()
        receiver.secret = secret_box.locator("code").inner_text()
        assert receiver.secret == WebhookSubscription.objects.get().secret
        assert page.get_by_role("cell", name="order.*").is_visible()

        with transaction.atomic():
            record_event("order.created", admin, {"number": "OMS-1"})
        dispatch_events()
        delivery = WebhookDelivery.objects.get()
        delivery_attempt(delivery_id=delivery.pk)

        page.get_by_role("link", name="Deliveries").click()
        row = page.get_by_test_id(f"delivery-{delivery.pk}")
        assert "Failed" in row.inner_text() and "HTTP 500" in row.inner_text()
        screenshot(page, "webhook-delivery-failed")

        row.get_by_role("button", name="Re-deliver").click()
        assert (
            f"Delivery #{delivery.pk} queued again."
            in page.get_by_role("status").inner_text()
        )
        page.reload()
        assert (
            "Succeeded" in page.get_by_test_id(f"delivery-{delivery.pk}").inner_text()
        )
        screenshot(page, "webhook-delivery-redelivered")

    assert [r["status"] for r in receiver.received] == [500, 200]
    assert receiver.forged == 0
