from django.urls import path

from orders.workflows import api

urlpatterns = [
    path("order-types", api.OrderTypeListCreateApi.as_view(), name="order-type-list"),
    path(
        "order-types/<str:code>",
        api.OrderTypeDetailApi.as_view(),
        name="order-type-detail",
    ),
    path("workflow-steps", api.StepListCreateApi.as_view(), name="workflow-step-list"),
    path(
        "workflow-steps/dry-run",
        api.StepDryRunApi.as_view(),
        name="workflow-step-dry-run",
    ),
    path(
        "workflow-steps/<int:pk>",
        api.StepDetailApi.as_view(),
        name="workflow-step-detail",
    ),
    path(
        "workflow-step-groups",
        api.GroupListCreateApi.as_view(),
        name="workflow-step-group-list",
    ),
    path("workflow-runs", api.RunListApi.as_view(), name="workflow-run-list"),
    path(
        "workflow-runs/<int:pk>/retry",
        api.RunRetryApi.as_view(),
        name="workflow-run-retry",
    ),
]
