from django.contrib import admin

from oms.models import (
    ApiClient,
    Event,
    StateTransition,
    WebhookDelivery,
    WebhookSubscription,
)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["sequence", "name", "entity_type", "entity_id", "occurred_at"]
    list_filter = ["name"]
    readonly_fields = [f.name for f in Event._meta.fields]


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    """Read-only: subscriptions are made and changed through their service (the
    back-office page or the API), which checks the target and issues the secret."""

    list_display = ["name", "url", "active", "owner"]
    exclude = ["secret"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "event",
        "subscription",
        "status",
        "attempts",
        "next_attempt_at",
    ]
    list_filter = ["status"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = ["name", "token_prefix", "active", "last_used_at"]
    readonly_fields = [
        "token_prefix",
        "token_hash",
        "user",
        "created_at",
        "last_used_at",
    ]


@admin.register(StateTransition)
class StateTransitionAdmin(admin.ModelAdmin):
    list_display = [
        "entity_type",
        "entity_id",
        "source",
        "target",
        "actor",
        "occurred_at",
    ]
    readonly_fields = [f.name for f in StateTransition._meta.fields]
