from django.urls import path

from inventory import api

urlpatterns = [
    path("products", api.ProductListCreateApi.as_view(), name="product-list"),
    path("products/<str:sku>", api.ProductDetailApi.as_view(), name="product-detail"),
    path("locations", api.LocationListCreateApi.as_view(), name="location-list"),
    path(
        "locations/<str:code>", api.LocationDetailApi.as_view(), name="location-detail"
    ),
    path("stock", api.StockListApi.as_view(), name="stock-list"),
    path(
        "inventory/transactions", api.LedgerListApi.as_view(), name="inventory-ledger"
    ),
    path(
        "inventory/receipts",
        api.ReceiptListCreateApi.as_view(),
        name="inventory-receipt-list",
    ),
    path("inventory/asns", api.AsnListCreateApi.as_view(), name="inventory-asn-list"),
    path(
        "inventory/asns/<int:pk>",
        api.AsnDetailApi.as_view(),
        name="inventory-asn-detail",
    ),
    path(
        "inventory/asns/<int:pk>/receive",
        api.AsnReceiveApi.as_view(),
        name="inventory-asn-receive",
    ),
    path(
        "inventory/asns/<int:pk>/close",
        api.AsnCloseApi.as_view(),
        name="inventory-asn-close",
    ),
    path(
        "inventory/transfer-orders",
        api.TransferOrderListCreateApi.as_view(),
        name="inventory-transfer-order-list",
    ),
    path(
        "inventory/transfer-orders/<int:pk>",
        api.TransferOrderDetailApi.as_view(),
        name="inventory-transfer-order-detail",
    ),
    path(
        "inventory/transfer-orders/<int:pk>/ship",
        api.TransferOrderShipApi.as_view(),
        name="inventory-transfer-order-ship",
    ),
    path(
        "inventory/transfer-orders/<int:pk>/receive",
        api.TransferOrderReceiveApi.as_view(),
        name="inventory-transfer-order-receive",
    ),
    path(
        "inventory/transfer-orders/<int:pk>/close",
        api.TransferOrderCloseApi.as_view(),
        name="inventory-transfer-order-close",
    ),
    path(
        "inventory/adjustments",
        api.AdjustmentListCreateApi.as_view(),
        name="inventory-adjustment-list",
    ),
    path(
        "inventory/cycle-counts",
        api.CycleCountListCreateApi.as_view(),
        name="inventory-cycle-count-list",
    ),
    path(
        "inventory/cycle-counts/<int:pk>",
        api.CycleCountDetailApi.as_view(),
        name="inventory-cycle-count-detail",
    ),
    path(
        "inventory/cycle-counts/<int:pk>/submit",
        api.CycleCountSubmitApi.as_view(),
        name="inventory-cycle-count-submit",
    ),
    path(
        "inventory/cycle-counts/<int:pk>/approve",
        api.CycleCountApproveApi.as_view(),
        name="inventory-cycle-count-approve",
    ),
    path(
        "inventory/cycle-counts/<int:pk>/reject",
        api.CycleCountRejectApi.as_view(),
        name="inventory-cycle-count-reject",
    ),
    path("inventory/sync", api.StockSyncApi.as_view(), name="inventory-sync"),
    path(
        "inventory/sync/<int:pk>",
        api.StockSyncDetailApi.as_view(),
        name="inventory-sync-detail",
    ),
]
