from django.urls import path

from orders import views

app_name = "orders"

urlpatterns = [
    path("", views.OrderListView.as_view(), name="order-list"),
    path("bulk/", views.OrderBulkView.as_view(), name="order-bulk"),
    path("export.csv", views.OrderExportView.as_view(), name="order-export"),
    path("<str:number>/", views.OrderDetailView.as_view(), name="order-detail"),
    path("<str:number>/edit/", views.OrderEditView.as_view(), name="order-edit"),
    path(
        "<str:number>/approve/", views.OrderApproveView.as_view(), name="order-approve"
    ),
    path("<str:number>/cancel/", views.OrderCancelView.as_view(), name="order-cancel"),
    path(
        "<str:number>/cancel-items/",
        views.OrderCancelItemsView.as_view(),
        name="order-cancel-items",
    ),
    path("<str:number>/swap/", views.OrderSwapView.as_view(), name="order-swap"),
]
