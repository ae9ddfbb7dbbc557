from django.urls import path

from orders.routing import api

urlpatterns = [
    path("routing/rule-sets", api.RuleSetListCreateApi.as_view(), name="rule-set-list"),
    path(
        "routing/rule-sets/<int:pk>",
        api.RuleSetDetailApi.as_view(),
        name="rule-set-detail",
    ),
    path("routing/simulate", api.SimulateApi.as_view(), name="routing-simulate"),
    path("routing/queues", api.QueuesApi.as_view(), name="routing-queues"),
    path(
        "brokering-runs",
        api.BrokeringRunListCreateApi.as_view(),
        name="brokering-run-list",
    ),
    path(
        "brokering-runs/<int:pk>",
        api.BrokeringRunDetailApi.as_view(),
        name="brokering-run-detail",
    ),
    path(
        "orders/<str:number>/release",
        api.OrderReleaseApi.as_view(),
        name="order-release",
    ),
    path("orders/<str:number>/hold", api.OrderHoldApi.as_view(), name="order-hold"),
    path(
        "orders/<str:number>/unhold",
        api.OrderUnholdApi.as_view(),
        name="order-unhold",
    ),
    path(
        "fulfillment-requests",
        api.FulfillmentRequestListApi.as_view(),
        name="fulfillment-request-list",
    ),
    path(
        "fulfillment-requests/<int:pk>",
        api.FulfillmentRequestDetailApi.as_view(),
        name="fulfillment-request-detail",
    ),
]
for action, view in [
    ("accept", api.FulfillmentRequestAcceptApi),
    ("reject", api.FulfillmentRequestRejectApi),
    ("pack", api.FulfillmentRequestPackApi),
    ("ship", api.FulfillmentRequestShipApi),
    ("ready-for-pickup", api.FulfillmentRequestReadyApi),
    ("picked-up", api.FulfillmentRequestPickedUpApi),
]:
    urlpatterns.append(
        path(
            f"fulfillment-requests/<int:pk>/{action}",
            view.as_view(),
            name=f"fulfillment-request-{action}",
        )
    )
