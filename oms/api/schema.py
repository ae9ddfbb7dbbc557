"""Shared OpenAPI declarations so the schema states the error responses truthfully."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers


@extend_schema_field(
    {
        "type": "object",
        "description": "Each field → its messages. The errors of a nested value "
        "are one object in its list, keyed by position or key and nested the same "
        'way (`{"lines": [{"0": [{"quantity": ["…"]}]}]}`); a business rule names '
        "a nested field in its key (`lines[0].sku`).",
        "additionalProperties": {
            "type": "array",
            "items": {"oneOf": [{"type": "string"}, {"type": "object"}]},
        },
    }
)
class FieldErrorsField(serializers.DictField):
    """The `errors` of the error shape (see `exceptions.field_errors`), shown as
    they are."""


ErrorSerializer = inline_serializer(
    "Error",
    {
        "type": serializers.CharField(),
        "title": serializers.CharField(),
        "status": serializers.IntegerField(),
        "detail": serializers.CharField(),
        "errors": FieldErrorsField(),
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

BODY_ERROR_RESPONSES = {
    413: OpenApiResponse(ErrorSerializer, description="Request body too large."),
    415: OpenApiResponse(ErrorSerializer, description="Unsupported media type."),
}


class AutoSchema(SpectacularAutoSchema):
    """Every operation states the errors any endpoint may answer (the error shape
    for 400, 401, 403, 404, 409; 413 and 415 where it takes a body), besides what
    its view declares: a bad cursor or filter is a 400/404 on a list too."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        errors = dict(ERROR_RESPONSES)
        if self.method in ("POST", "PUT", "PATCH"):
            errors.update(BODY_ERROR_RESPONSES)
        for code, response in errors.items():
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(
                    response, str(code), direction=direction
                )
        return responses
