from django.urls import path

from oms.backoffice import jobs, views

app_name = "backoffice"
urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path(
        "dashboard/charts.json",
        views.DashboardChartsView.as_view(),
        name="dashboard-charts",
    ),
    path("search/", views.GlobalSearchView.as_view(), name="search"),
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
    path("jobs/", jobs.JobListView.as_view(), name="job-list"),
    path("jobs/new/", jobs.JobCreateView.as_view(), name="job-create"),
    path("jobs/<int:pk>/", jobs.JobDetailView.as_view(), name="job-detail"),
    path(
        "jobs/<int:pk>/progress.json",
        jobs.JobProgressView.as_view(),
        name="job-progress",
    ),
    path(
        "jobs/<int:pk>/results.csv",
        jobs.JobResultsCsvView.as_view(),
        name="job-results",
    ),
    path("jobs/<int:pk>/confirm/", jobs.JobConfirmView.as_view(), name="job-confirm"),
    path("jobs/<int:pk>/cancel/", jobs.JobCancelView.as_view(), name="job-cancel"),
]
