from django.urls import path

from orders.workflows import views

app_name = "workflows"

urlpatterns = [
    path("", views.OrderTypeListView.as_view(), name="order-type-list"),
    path("new/", views.OrderTypeEditView.as_view(), name="order-type-create"),
    path("copy/", views.OrderTypeCopyView.as_view(), name="order-type-copy"),
    path("steps/<int:pk>/", views.StepEditView.as_view(), name="step-edit"),
    path("step-runs/<int:pk>/retry/", views.RunRetryView.as_view(), name="run-retry"),
    path("groups/", views.GroupListView.as_view(), name="group-list"),
    path("groups/<slug:code>/", views.GroupView.as_view(), name="group"),
    path(
        "groups/<slug:code>/steps/",
        views.GroupStepCreateView.as_view(),
        name="group-step-create",
    ),
    path("<slug:code>/", views.ChartView.as_view(), name="chart"),
    path(
        "<slug:code>/edit/", views.OrderTypeEditView.as_view(), name="order-type-edit"
    ),
]
