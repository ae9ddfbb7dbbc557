from django.urls import path

from returns import api

urlpatterns = [
    path("returns", api.ReturnListCreateApi.as_view(), name="return-list"),
    path("returns/<int:pk>", api.ReturnDetailApi.as_view(), name="return-detail"),
    path("returns/<int:pk>/retry", api.ReturnRetryApi.as_view(), name="return-retry"),
]
