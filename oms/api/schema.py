"""Shared OpenAPI declarations so the schema states the error responses truthfully."""

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorSerializer = inline_serializer(
    "Error",
    {
        "type": serializers.CharField(),
        "title": serializers.CharField(),
        "status": serializers.IntegerField(),
        "detail": serializers.CharField(),
        "errors": serializers.DictField(child=serializers.ListField()),
    },
)

ERROR_RESPONSES = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input; field errors."),
    401: OpenApiResponse(ErrorSerializer, description="Not authenticated."),
    403: OpenApiResponse(ErrorSerializer, description="Role not allowed."),
    404: OpenApiResponse(ErrorSerializer, description="Not found."),
    409: OpenApiResponse(
        ErrorSerializer, description="Not allowed in the current state."
    ),
}
