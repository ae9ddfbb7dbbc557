from django.urls import path

from orders.routing import views

app_name = "fulfillment"

urlpatterns = [
    path("requests/", views.RequestListView.as_view(), name="request-list"),
    path(
        "requests/export.csv",
        views.RequestExportView.as_view(),
        name="request-export",
    ),
    path(
        "requests/<int:pk>/", views.RequestDetailView.as_view(), name="request-detail"
    ),
    path(
        "requests/<int:pk>/<str:action>/",
        views.RequestActionView.as_view(),
        name="request-action",
    ),
    path("rule-sets/", views.RuleSetListView.as_view(), name="rule-set-list"),
    path("rule-sets/new/", views.RuleSetEditView.as_view(), name="rule-set-create"),
    path("rule-sets/<int:pk>/", views.RuleSetEditView.as_view(), name="rule-set-edit"),
    path("runs/", views.RunListView.as_view(), name="run-list"),
    path("runs/start/", views.RunStartView.as_view(), name="run-start"),
    path(
        "runs/<int:pk>/progress.json",
        views.RunProgressView.as_view(),
        name="run-progress",
    ),
    path("queues/", views.QueueOverviewView.as_view(), name="queues"),
    path("queues/move/", views.QueueMoveView.as_view(), name="queue-move"),
    path("queues/<str:queue>/", views.QueueDetailView.as_view(), name="queue-detail"),
    path("simulate/", views.SimulationView.as_view(), name="simulate"),
    path(
        "orders/<str:number>/alternative/",
        views.AlternativeView.as_view(),
        name="order-alternative",
    ),
]
