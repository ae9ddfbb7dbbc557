from django.conf import settings
from django.db import models
from django_fsm import FSMField, FSMModelMixin, transition


class Event(models.Model):
    """The transactional outbox: one row per domain event, written in the same
    transaction as the change it describes.

    `sequence` is the public event id (feed cursor, `webhook-id`). It is assigned after
    commit by a single sequencer (`oms.services.events.dispatch_events`), in the order
    the events became visible, so a consumer resuming with `after=<id>` can never skip
    an event that committed late with a lower row id.
    """

    name = models.CharField(max_length=100)
    occurred_at = models.DateTimeField()
    entity_type = models.CharField(max_length=60)
    entity_id = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    sequence = models.BigIntegerField(null=True, blank=True, unique=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["entity_type", "entity_id", "id"], name="event_entity_idx"
            ),
            models.Index(
                fields=["id"],
                name="event_undispatched_idx",
                condition=models.Q(sequence__isnull=True),
            ),
            models.Index(fields=["name", "sequence"], name="event_name_sequence_idx"),
        ]

    def __str__(self) -> str:
        return (
            f"#{self.sequence or '-'} {self.name} {self.entity_type}:{self.entity_id}"
        )

    def envelope(self) -> dict:
        return {
            "id": self.sequence,
            "name": self.name,
            "occurred_at": self.occurred_at.isoformat(),
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "payload": self.payload,
        }


class WebhookSubscription(models.Model):
    """Where to POST which events. An integration sees and manages only the
    subscriptions it created (`owner`); admins manage all of them."""

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    # Standard Webhooks secret, `whsec_` + base64; shown once at creation and rotation.
    secret = models.CharField(max_length=100)
    event_patterns = models.JSONField(
        default=list, help_text='Event-name patterns such as "order.*" or "*".'
    )
    active = models.BooleanField(default=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="webhook_subscriptions",
        help_text="The API client's user that created it; empty for admin-made ones.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} → {self.url}"


class WebhookDelivery(FSMModelMixin, models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    event = models.ForeignKey(
        Event, on_delete=models.PROTECT, related_name="deliveries"
    )
    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = FSMField(choices=Status.choices, default=Status.PENDING, protected=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A worker claims a delivery until this time, so the HTTP call runs outside any
    # row lock and a crashed worker's claim simply expires.
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "subscription"],
                name="one_delivery_per_event_subscription",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "succeeded", "failed"]),
                name="webhook_delivery_status_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_due_idx",
                condition=models.Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"delivery #{self.id} of event {self.event_id} ({self.status})"

    @transition(field=status, source=Status.PENDING, target=Status.SUCCEEDED)
    def succeed(self) -> None:
        pass

    @transition(field=status, source=Status.PENDING, target=Status.FAILED)
    def give_up(self) -> None:
        pass

    @transition(
        field=status, source=[Status.FAILED, Status.SUCCEEDED], target=Status.PENDING
    )
    def requeue(self) -> None:
        pass
