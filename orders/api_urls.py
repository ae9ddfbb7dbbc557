from django.urls import path

from orders import api

urlpatterns = [
    path("orders", api.OrderListCreateApi.as_view(), name="order-list"),
    path("orders/import", api.OrderImportApi.as_view(), name="order-import"),
    path("orders/<str:number>", api.OrderDetailApi.as_view(), name="order-detail"),
    path(
        "orders/<str:number>/approve",
        api.OrderApproveApi.as_view(),
        name="order-approve",
    ),
    path(
        "orders/<str:number>/cancel", api.OrderCancelApi.as_view(), name="order-cancel"
    ),
    path(
        "orders/<str:number>/cancel-items",
        api.OrderCancelItemsApi.as_view(),
        name="order-cancel-items",
    ),
    path(
        "orders/<str:number>/swap-items",
        api.OrderSwapItemsApi.as_view(),
        name="order-swap-items",
    ),
    path(
        "orders/<str:number>/timeline",
        api.OrderTimelineApi.as_view(),
        name="order-timeline",
    ),
]
