from django.urls import path

from oms.backoffice import views

app_name = "backoffice"
urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path(
        "integrations/webhooks/", views.WebhookListView.as_view(), name="webhook-list"
    ),
    path(
        "integrations/webhooks/<int:pk>/toggle/",
        views.WebhookToggleView.as_view(),
        name="webhook-toggle",
    ),
    path(
        "integrations/webhooks/<int:pk>/rotate-secret/",
        views.WebhookRotateSecretView.as_view(),
        name="webhook-rotate-secret",
    ),
    path(
        "integrations/deliveries/",
        views.DeliveryListView.as_view(),
        name="webhook-deliveries",
    ),
    path(
        "integrations/deliveries/<int:pk>/redeliver/",
        views.DeliveryRedeliverView.as_view(),
        name="webhook-redeliver",
    ),
    path("integrations/events/", views.EventListView.as_view(), name="event-list"),
]
