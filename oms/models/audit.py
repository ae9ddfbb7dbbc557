from django.conf import settings
from django.db import models


class StateTransition(models.Model):
    """Who moved which entity from which state to which, when and why: the
    timeline behind every django-fsm transition of every app."""

    entity_type = models.CharField(max_length=60)
    entity_id = models.CharField(max_length=64)
    field = models.CharField(max_length=40, default="status")
    source = models.CharField(max_length=40)
    target = models.CharField(max_length=40)
    transition = models.CharField(max_length=60)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    reason = models.TextField(blank=True)
    occurred_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["entity_type", "entity_id", "id"], name="transition_entity_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.entity_type}:{self.entity_id} {self.source}→{self.target}"
