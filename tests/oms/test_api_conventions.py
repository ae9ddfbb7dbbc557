"""Idempotency keys, the error shape, tokens and health."""

import threading

import pytest
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from oms.celery import app as celery_app
from oms.models import ApiClient, WebhookSubscription
from oms.services.api_clients import api_client_create
from tests.integration_support import (
    WorkerProcess,
    needs_services,
    purge_queue,
    wait_until,
    worker_thread,
)

pytestmark = pytest.mark.django_db

SUBSCRIPTION = {
    "name": "erp",
    "url": "https://erp.example.com/hook",
    "event_patterns": ["order.*"],
}


def post(client, body, key):
    return client.post(
        "/api/v1/webhooks", body, format="json", HTTP_IDEMPOTENCY_KEY=key
    )


def test_same_key_and_body_replays_the_first_response(integration_api):
    first = post(integration_api, SUBSCRIPTION, "k-1")
    again = post(integration_api, SUBSCRIPTION, "k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert WebhookSubscription.objects.count() == 1


def test_same_key_with_another_body_is_a_conflict(integration_api):
    post(integration_api, SUBSCRIPTION, "k-1")
    response = post(integration_api, {**SUBSCRIPTION, "name": "other"}, "k-1")
    assert response.status_code == 409
    assert response.json()["type"] == "idempotency_key_reused"
    assert WebhookSubscription.objects.count() == 1


def test_keys_are_scoped_to_the_caller(api_client_for):
    post(api_client_for("integration"), SUBSCRIPTION, "k-1")
    post(api_client_for("integration"), SUBSCRIPTION, "k-1")
    assert WebhookSubscription.objects.count() == 2


def test_an_invalid_request_is_replayed_as_the_same_400(integration_api):
    bad = {**SUBSCRIPTION, "url": "not a url"}
    first = post(integration_api, bad, "k-2")
    assert first.status_code == 400
    assert post(integration_api, bad, "k-2").json() == first.json()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_write_once():
    if connection.vendor != "postgresql":
        pytest.skip("row-level waiting on a unique key needs PostgreSQL")
    _, token = api_client_create(name="shop")
    responses = []

    def send():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        responses.append(post(client, SUBSCRIPTION, "same-key"))
        connection.close()

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert WebhookSubscription.objects.count() == 1


def test_validation_errors_use_the_one_error_shape(admin_api):
    response = admin_api.post(
        "/api/v1/webhooks", {"name": "", "url": "x"}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert (
        body["type"] == "invalid"
        and body["status"] == 400
        and body["title"] == "Bad Request"
    )
    assert set(body["errors"]) >= {"name", "url", "event_patterns"}


def test_not_found_and_malformed_json_use_the_error_shape(admin_api):
    missing = admin_api.get("/api/v1/webhooks/999")
    assert missing.status_code == 404 and missing.json()["status"] == 404
    malformed = admin_api.post(
        "/api/v1/webhooks", "{nope", content_type="application/json"
    )
    assert malformed.status_code == 400 and malformed.json()["type"] == "parse_error"


def test_a_transition_not_allowed_is_a_409_naming_the_state(
    admin_api, django_user_model
):
    from django.db import transaction

    from oms.models import WebhookDelivery
    from oms.services.events import dispatch_events, record_event
    from oms.services.webhooks import subscription_create

    subscription_create(name="s", url="http://127.0.0.1:9/", event_patterns=["*"])
    user = django_user_model.objects.create(username="u")
    with transaction.atomic():
        record_event("order.created", user, {})
    dispatch_events()
    delivery = WebhookDelivery.objects.get()
    response = admin_api.post(f"/api/v1/webhook-deliveries/{delivery.pk}/redeliver")
    assert response.status_code == 409
    assert response.json()["type"] == "delivery_pending"


def test_tokens_are_stored_hashed_and_revocable(client):
    api_client, token = api_client_create(name="erp")
    stored = ApiClient.objects.get(pk=api_client.pk)
    assert token not in (stored.token_hash, stored.token_prefix)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get("/api/v1/events", **headers).status_code == 200
    ApiClient.objects.filter(pk=api_client.pk).update(active=False)
    revoked = client.get("/api/v1/events", **headers)
    assert revoked.status_code == 401 and revoked.json()["status"] == 401


def test_create_api_client_command_prints_a_working_token(client, capsys):
    call_command("create_api_client", "shopify", "--role", "integration")
    token = capsys.readouterr().out.strip().splitlines()[-1]
    response = client.get("/api/v1/events", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200


def test_health_in_embedded_mode_reports_in_process_tasks(client, settings):
    settings.CELERY_EMBEDDED = True
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["checks"] == {
        "database": "ok",
        "broker": "ok (in-process)",
        "worker": "ok (in-process)",
    }


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@needs_services
def test_health_pings_a_real_worker_and_is_503_without_one(client):
    purge_queue()
    without = client.get("/api/v1/health")
    assert without.status_code == 503
    assert without.json()["checks"]["worker"] == "down"
    with worker_thread():
        wait_until(lambda: client.get("/api/v1/health").status_code == 200, timeout=15)
    assert client.get("/api/v1/health").json()["checks"]["broker"] == "ok"


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@needs_services
def test_health_does_not_count_the_workers_of_another_queue(client):
    """Another deployment (or test run) on the same Redis server has its own
    workers and queue: they must not answer this deployment's health check."""
    elsewhere = f"{celery_app.conf.task_default_queue}-elsewhere"
    purge_queue()
    with WorkerProcess(CELERY_QUEUE=elsewhere):
        # The other worker is up once it has taken a message from its queue.
        celery_app.send_task("oms.purge_idempotency_keys", queue=elsewhere)
        with celery_app.connection_for_write() as conn:
            redis = conn.default_channel.client
            wait_until(lambda: redis.llen(elsewhere) == 0, timeout=30)
        response = client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"] == "down"


def test_health_is_503_when_the_broker_is_unreachable(client, settings):
    settings.CELERY_EMBEDDED = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "down"


def test_a_conflict_is_not_replayed_so_a_retry_with_the_key_runs_again(
    admin_api, django_user_model, settings
):
    from django.db import transaction

    from oms.models import WebhookDelivery
    from oms.services.events import dispatch_events, record_event
    from oms.services.webhooks import delivery_attempt, subscription_create

    settings.OMS_WEBHOOK_BACKOFF_SECONDS = []  # the first failure is final
    subscription_create(name="s", url="http://127.0.0.1:9/", event_patterns=["*"])
    with transaction.atomic():
        record_event(
            "order.created", django_user_model.objects.create(username="u"), {}
        )
    dispatch_events()
    delivery = WebhookDelivery.objects.get()
    url = f"/api/v1/webhook-deliveries/{delivery.pk}/redeliver"

    assert admin_api.post(url, HTTP_IDEMPOTENCY_KEY="r-1").status_code == 409  # pending
    delivery_attempt(delivery_id=delivery.pk)  # connection refused: failed
    assert admin_api.post(url, HTTP_IDEMPOTENCY_KEY="r-1").status_code == 202


def test_a_503_logs_the_database_error_with_its_sqlstate(caplog):
    """An operator finds why a request got `database_unavailable` in the log."""
    import psycopg
    from django.db import OperationalError
    from django.test import RequestFactory

    from oms.api.exceptions import exception_handler

    error = OperationalError("deadlock detected\nDETAIL: Process 1 waits for ...")
    error.__cause__ = psycopg.errors.DeadlockDetected("deadlock detected")
    request = RequestFactory().post("/api/v1/fulfillment-requests/7/ship")

    response = exception_handler(error, {"request": request})

    assert response.status_code == 503
    assert response.data["type"] == "database_unavailable"
    assert "POST /api/v1/fulfillment-requests/7/ship" in caplog.text
    assert "sqlstate=40P01 deadlock detected | DETAIL: Process 1" in caplog.text
