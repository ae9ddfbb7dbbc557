"""Kernel back-office pages given bad input: a page or a 4xx, never a 500."""

import pytest
from django.db import transaction
from django.test import Client

from oms.models import WebhookDelivery
from oms.roles import Role
from oms.services.events import dispatch_events, record_event
from oms.services.webhooks import subscription_create

pytestmark = pytest.mark.django_db

DELIVERIES = "/backoffice/integrations/deliveries/"


@pytest.fixture
def admin_page(make_user):
    client = Client()
    client.force_login(make_user(Role.ADMIN))
    return client


@pytest.fixture
def delivery(make_user) -> WebhookDelivery:
    subscription_create(
        name="erp", url="http://127.0.0.1:9/hook", event_patterns=["order.*"]
    )
    with transaction.atomic():
        record_event("order.created", make_user(Role.CSR), {"number": "OMS-1"})
    dispatch_events()
    return WebhookDelivery.objects.get()


@pytest.mark.parametrize("value", ["²", "9" * 40, "\x00", "-1"])
def test_the_delivery_log_and_event_feed_take_any_filter_value(admin_page, value):
    deliveries = admin_page.get(DELIVERIES, {"subscription": value, "status": value})
    events = admin_page.get(
        "/backoffice/integrations/events/", {"after": value, "name": value}
    )

    assert deliveries.status_code == 200
    assert events.status_code == 200


def test_redeliver_returns_to_a_page_of_this_site_only(admin_page, delivery):
    url = f"/backoffice/integrations/deliveries/{delivery.pk}/redeliver/"

    elsewhere = admin_page.post(url, {"next": "https://evil.example/"})
    here = admin_page.post(url, {"next": f"{DELIVERIES}?status=failed"})

    assert elsewhere.status_code == 302
    assert elsewhere["Location"] == DELIVERIES
    assert here["Location"] == f"{DELIVERIES}?status=failed"
