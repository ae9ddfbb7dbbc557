from oms.models.api_clients import ApiClient
from oms.models.audit import StateTransition
from oms.models.events import Event, WebhookDelivery, WebhookSubscription
from oms.models.idempotency import IdempotencyRecord
from oms.models.jobs import Job, JobRow, JobRowStatus, JobStatus

__all__ = [
    "ApiClient",
    "Event",
    "IdempotencyRecord",
    "Job",
    "JobRow",
    "JobRowStatus",
    "JobStatus",
    "StateTransition",
    "WebhookDelivery",
    "WebhookSubscription",
]
