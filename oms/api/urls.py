from django.urls import path

from oms.api import health, jobs, views

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
    path("jobs", jobs.JobListCreateApi.as_view(), name="job-list"),
    path("jobs/<int:pk>", jobs.JobDetailApi.as_view(), name="job-detail"),
    path("jobs/<int:pk>/rows", jobs.JobRowsApi.as_view(), name="job-rows"),
    path("jobs/<int:pk>/confirm", jobs.JobConfirmApi.as_view(), name="job-confirm"),
    path("jobs/<int:pk>/cancel", jobs.JobCancelApi.as_view(), name="job-cancel"),
]
