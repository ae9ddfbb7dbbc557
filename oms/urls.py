from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

api_v1 = [
    path("", include("oms.api.urls")),
    path("", include("inventory.api_urls")),
    path("", include("payments.api_urls")),
    path("", include("orders.api_urls")),
    path("", include("orders.routing.api_urls")),
    path("", include("orders.workflows.api_urls")),
    path("", include("returns.api_urls")),
]

urlpatterns = [
    path(
        "", RedirectView.as_view(pattern_name="backoffice:dashboard", permanent=False)
    ),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"
    ),
    path("backoffice/", include("oms.backoffice.urls")),
    path("backoffice/inventory/", include("inventory.urls")),
    path("backoffice/orders/", include("orders.urls")),
    path("backoffice/fulfillment/", include("orders.routing.urls")),
    path("backoffice/workflows/", include("orders.workflows.urls")),
    path("backoffice/payments/", include("payments.urls")),
    path("backoffice/returns/", include("returns.urls")),
]

handler404 = "oms.api.exceptions.not_found"
handler500 = "oms.api.exceptions.server_error"
