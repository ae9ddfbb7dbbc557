from oms.models.api_clients import ApiClient
from oms.models.audit import StateTransition
from oms.models.events import Event, WebhookDelivery, WebhookSubscription
from oms.models.idempotency import IdempotencyRecord

__all__ = [
    "ApiClient",
    "Event",
    "IdempotencyRecord",
    "StateTransition",
    "WebhookDelivery",
    "WebhookSubscription",
]
