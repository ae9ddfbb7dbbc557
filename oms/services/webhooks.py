"""Webhook subscriptions and the signed, retried delivery of events to them."""

import base64
import ipaddress
import json
import secrets
import socket
from datetime import timedelta
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook

from oms import tasks
from oms.errors import ApplicationError, Conflict
from oms.models import WebhookDelivery, WebhookSubscription
from oms.queueing import enqueue_on_commit

USER_AGENT = "OMS-Webhooks/1.0"


def new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _validate_patterns(patterns: list[str]) -> list[str]:
    cleaned = [p.strip() for p in patterns if isinstance(p, str) and p.strip()]
    if not cleaned:
        raise ApplicationError(
            "Give at least one event-name pattern.",
            code="invalid_patterns",
            field_errors={"event_patterns": ['At least one pattern, e.g. "order.*".']},
        )
    return cleaned


def target_refusal(url: str) -> str | None:
    """Why `url` may not receive webhooks, or None. Addresses inside this network
    (loopback, private, link-local: databases, caches, cloud metadata) are refused
    unless `OMS_WEBHOOK_ALLOW_PRIVATE_TARGETS` is set, so a subscription cannot be
    used to probe them. A name that does not resolve now is checked again at each
    delivery, which also catches a name re-pointed inside later."""
    if settings.OMS_WEBHOOK_ALLOW_PRIVATE_TARGETS:
        return None
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (socket.gaierror, UnicodeError):
        return None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global:
            return f"{host} resolves to {ip}, an address inside this network."
    return None


def _validate_target(url: str) -> str:
    refusal = target_refusal(url)
    if refusal:
        raise ApplicationError(
            "This endpoint may not receive webhooks.",
            code="webhook_target_not_allowed",
            field_errors={"url": [refusal]},
        )
    return url


def subscription_create(
    *,
    name: str,
    url: str,
    event_patterns: list[str],
    active: bool = True,
    owner=None,
) -> WebhookSubscription:
    """Create a subscription with a fresh signing secret (shown to the caller once).
    `owner` is the API client's user when an integration subscribes itself."""
    return WebhookSubscription.objects.create(
        name=name,
        url=_validate_target(url),
        event_patterns=_validate_patterns(event_patterns),
        active=active,
        owner=owner,
        secret=new_webhook_secret(),
    )


def subscription_update(
    *, subscription: WebhookSubscription, **fields
) -> WebhookSubscription:
    """Change name, url, patterns or active; the secret changes only by rotation."""
    if "event_patterns" in fields:
        fields["event_patterns"] = _validate_patterns(fields["event_patterns"])
    if "url" in fields:
        fields["url"] = _validate_target(fields["url"])
    for name, value in fields.items():
        setattr(subscription, name, value)
    subscription.save(update_fields=list(fields))
    return subscription


def subscription_rotate_secret(*, subscription: WebhookSubscription) -> str:
    """Replace the signing secret; later deliveries are signed with the new one."""
    subscription.secret = new_webhook_secret()
    subscription.secret_rotated_at = timezone.now()
    subscription.save(update_fields=["secret", "secret_rotated_at"])
    return subscription.secret


def signed_request(delivery: WebhookDelivery) -> tuple[bytes, dict[str, str]]:
    """Body and headers of a delivery, signed by the Standard Webhooks spec."""
    envelope = delivery.event.envelope()
    body = json.dumps(envelope, separators=(",", ":"))
    message_id = str(envelope["id"])
    sent_at = timezone.now()
    signature = Webhook(delivery.subscription.secret).sign(message_id, sent_at, body)
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature,
        "x-oms-event-name": delivery.event.name,
    }
    return body.encode(), headers


def _claim(delivery_id: int) -> WebhookDelivery | None:
    """Claim a due delivery for one attempt; None if it is not due or is claimed."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            # of=self: locking the joined subscription row too would make every
            # other worker's claim on that subscription skip its delivery.
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("event", "subscription")
            .filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING)
            .first()
        )
        if delivery is None:
            return None
        if delivery.next_attempt_at and delivery.next_attempt_at > now:
            return None
        if delivery.claimed_until and delivery.claimed_until > now:
            return None
        delivery.claimed_until = now + timedelta(
            seconds=settings.OMS_WEBHOOK_CLAIM_SECONDS
        )
        delivery.save(update_fields=["claimed_until"])
    return delivery


def delivery_attempt(*, delivery_id: int) -> WebhookDelivery | None:
    """POST one due delivery and record the outcome.

    The HTTP call runs outside any transaction, under a time-limited claim, so a
    worker killed mid-call leaves the delivery pending and due again once the claim
    expires. A 2xx is success; anything else schedules the next attempt by the
    back-off table, and after the last one the delivery is `failed`.
    """
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    refusal = target_refusal(delivery.subscription.url)
    if refusal:
        return _record_attempt(delivery_id, None, f"Not sent: {refusal}")
    body, headers = signed_request(delivery)
    status_code, error = None, ""
    try:
        response = requests.post(
            delivery.subscription.url,
            data=body,
            headers=headers,
            timeout=settings.OMS_WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}: {response.text[:500]}"
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:1000]
    return _record_attempt(delivery_id, status_code, error)


def _record_attempt(delivery_id: int, status_code: int | None, error: str):
    backoff = settings.OMS_WEBHOOK_BACKOFF_SECONDS
    now = timezone.now()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        if delivery.status != WebhookDelivery.Status.PENDING:
            return delivery
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.last_status_code = status_code
        delivery.last_error = error
        delivery.claimed_until = None
        if not error:
            delivery.succeed()
            delivery.succeeded_at = now
            delivery.next_attempt_at = None
        elif delivery.attempts > len(backoff):
            delivery.give_up()
            delivery.next_attempt_at = None
        else:
            delivery.next_attempt_at = now + timedelta(
                seconds=backoff[delivery.attempts - 1]
            )
        delivery.save()
    return delivery


def delivery_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again now, whatever its outcome so far (by hand, from the
    page or the API). A pending one is already on its way and is refused."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        if delivery.status == WebhookDelivery.Status.PENDING:
            raise Conflict(
                "This delivery is still pending; it is retried automatically.",
                code="delivery_pending",
            )
        delivery.requeue()
        delivery.next_attempt_at = timezone.now()
        delivery.claimed_until = None
        delivery.save()
        enqueue_on_commit(tasks.deliver_webhook_task, delivery.pk)
    return delivery


def due_delivery_ids(*, limit: int = 1000) -> list[int]:
    now = timezone.now()
    return list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
        )
        .exclude(claimed_until__gt=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def subscription_deactivate(*, subscription: WebhookSubscription) -> None:
    """Stop new deliveries; the delivery log is kept for the record."""
    subscription.active = False
    subscription.save(update_fields=["active"])
