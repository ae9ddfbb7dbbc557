"""Whose subscriptions an integration sees, and which endpoints may receive."""

import pytest
from django.db import transaction

from oms.errors import ApplicationError
from oms.models import WebhookDelivery
from oms.services.events import dispatch_events, record_event
from oms.services.webhooks import delivery_attempt, subscription_create

pytestmark = pytest.mark.django_db

HOOK = {"name": "erp", "url": "https://erp.example.com/hook", "event_patterns": ["*"]}


def test_an_integration_sees_and_changes_only_its_own_subscriptions(
    api_client_for, admin_api
):
    erp, wms = api_client_for("integration"), api_client_for("integration")
    mine = erp.post("/api/v1/webhooks", HOOK, format="json").json()
    wms.post("/api/v1/webhooks", {**HOOK, "name": "wms"}, format="json")

    assert [s["name"] for s in erp.get("/api/v1/webhooks").json()["results"]] == ["erp"]
    hijack = wms.patch(
        f"/api/v1/webhooks/{mine['id']}",
        {"url": "https://evil.example/"},
        format="json",
    )
    assert hijack.status_code == 404
    assert wms.post(f"/api/v1/webhooks/{mine['id']}/rotate-secret").status_code == 404
    names = {s["name"] for s in admin_api.get("/api/v1/webhooks").json()["results"]}
    assert names == {"erp", "wms"}


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:5432/", "http://10.0.0.8/", "http://169.254.169.254/"]
)
def test_endpoints_inside_the_network_are_refused(admin_api, settings, url):
    settings.OMS_WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    response = admin_api.post("/api/v1/webhooks", {**HOOK, "url": url}, format="json")
    assert response.status_code == 400
    assert "inside this network" in response.json()["errors"]["url"][0]


def test_a_delivery_to_an_address_inside_the_network_is_not_sent(
    django_user_model, settings
):
    subscription_create(name="s", url="http://127.0.0.1:9/", event_patterns=["*"])
    settings.OMS_WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    user = django_user_model.objects.create(username="u")
    with transaction.atomic():
        record_event("order.created", user, {})
    dispatch_events()
    delivery_attempt(delivery_id=WebhookDelivery.objects.get().pk)
    delivery = WebhookDelivery.objects.get()
    assert delivery.last_status_code is None
    assert delivery.last_error.startswith("Not sent: 127.0.0.1 resolves to")


def test_the_service_refuses_a_private_target_too(settings):
    settings.OMS_WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    with pytest.raises(ApplicationError) as refused:
        subscription_create(name="s", url="http://localhost/", event_patterns=["*"])
    assert refused.value.code == "webhook_target_not_allowed"
