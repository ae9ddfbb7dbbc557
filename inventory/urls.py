from django.urls import path

from inventory import views

app_name = "inventory"
urlpatterns = [
    path("stock/", views.StockListView.as_view(), name="stock-list"),
    path("ledger/", views.LedgerView.as_view(), name="ledger"),
    path("ledger/export.csv", views.LedgerExportView.as_view(), name="ledger-export"),
    path(
        "transfer-orders/",
        views.TransferOrderListView.as_view(),
        name="transfer-order-list",
    ),
    path(
        "transfer-orders/new/",
        views.TransferOrderCreateView.as_view(),
        name="transfer-order-create",
    ),
    path(
        "transfer-orders/<int:pk>/",
        views.TransferOrderDetailView.as_view(),
        name="transfer-order-detail",
    ),
    path(
        "transfer-orders/<int:pk>/ship/",
        views.TransferOrderShipView.as_view(),
        name="transfer-order-ship",
    ),
    path(
        "transfer-orders/<int:pk>/receive/",
        views.TransferOrderReceiveView.as_view(),
        name="transfer-order-receive",
    ),
    path(
        "transfer-orders/<int:pk>/close/",
        views.TransferOrderCloseView.as_view(),
        name="transfer-order-close",
    ),
    path("asns/", views.AsnListView.as_view(), name="asn-list"),
    path("asns/<int:pk>/", views.AsnDetailView.as_view(), name="asn-detail"),
    path("asns/<int:pk>/receive/", views.AsnReceiveView.as_view(), name="asn-receive"),
    path("asns/<int:pk>/close/", views.AsnCloseView.as_view(), name="asn-close"),
    path(
        "adjustments/new/",
        views.AdjustmentCreateView.as_view(),
        name="adjustment-create",
    ),
    path("cycle-counts/", views.CycleCountListView.as_view(), name="cycle-count-list"),
    path(
        "cycle-counts/new/",
        views.CycleCountCreateView.as_view(),
        name="cycle-count-create",
    ),
    path(
        "cycle-counts/<int:pk>/",
        views.CycleCountDetailView.as_view(),
        name="cycle-count-detail",
    ),
    path(
        "cycle-counts/<int:pk>/submit/",
        views.CycleCountSubmitView.as_view(),
        name="cycle-count-submit",
    ),
    path(
        "cycle-counts/<int:pk>/review/",
        views.CycleCountReviewView.as_view(),
        name="cycle-count-review",
    ),
    path("sync/", views.StockSyncView.as_view(), name="sync"),
    path("sync/<int:pk>/", views.StockSyncDetailView.as_view(), name="sync-detail"),
]
