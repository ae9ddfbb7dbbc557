from django.urls import path

from oms.api import health, views

urlpatterns = [
    path("health", health.HealthApi.as_view(), name="health"),
    path("events", views.EventFeedApi.as_view(), name="event-feed"),
    path("webhooks", views.WebhookListCreateApi.as_view(), name="webhook-list"),
    path("webhooks/<int:pk>", views.WebhookDetailApi.as_view(), name="webhook-detail"),
    path(
        "webhooks/<int:pk>/rotate-secret",
        views.WebhookRotateSecretApi.as_view(),
        name="webhook-rotate-secret",
    ),
    path(
        "webhook-deliveries",
        views.DeliveryListApi.as_view(),
        name="webhook-delivery-list",
    ),
    path(
        "webhook-deliveries/<int:pk>/redeliver",
        views.DeliveryRedeliverApi.as_view(),
        name="webhook-delivery-redeliver",
    ),
]
