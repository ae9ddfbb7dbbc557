"""Base classes for the API's input serializers.

A field a serializer does not declare is refused (400, one error per unknown field)
rather than silently dropped: a client that misspells `quantity` or sends a field
this version does not know finds out at once, and the schema says so
(`additionalProperties: false`, see `strict_request_bodies`). Read-only fields of a
serializer used for both input and output are declared, so a client may send back
what it read.
"""

from rest_framework import serializers
from rest_framework.utils import html

from oms.text import holds_unstorable_text

UNKNOWN_FIELD = "Unknown field."


def _undeclared(data, fields) -> list[str]:
    """Keys of `data` that name no field. A form or multipart body spells nested
    values `params.reason` or `items[0]sku` (DRF's HTML notation)."""
    if not html.is_html_input(data):
        return sorted(set(data.keys()) - set(fields))
    prefixes = tuple(f"{name}{mark}" for name in fields for mark in (".", "["))
    return sorted(
        key for key in data.keys() if key not in fields and not key.startswith(prefixes)
    )


class RejectUnknownFieldsMixin:
    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            unknown = _undeclared(data, self.fields)
            if unknown:
                raise serializers.ValidationError(
                    {name: [UNKNOWN_FIELD] for name in unknown}
                )
        return super().to_internal_value(data)


class InputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """A request body: declared fields only."""


class InputModelSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    """A model serializer that is also a request body: declared fields only."""


def strict_request_bodies(result, generator, request, public):
    """drf-spectacular postprocessing hook: request bodies (the `…Request`
    components) admit no other properties, as the serializers above enforce."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and "properties" in component:
            component.setdefault("additionalProperties", False)
    return result


class StorableMixin:
    """For free JSON fields: a key or a string anywhere inside that holds a null
    character or a lone surrogate is a field error, not a database failure."""

    default_error_messages = {
        "unstorable": "Holds a null character or a lone surrogate, which cannot "
        "be stored."
    }

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if holds_unstorable_text(value):
            self.fail("unstorable")
        return value


class StorableJSONField(StorableMixin, serializers.JSONField):
    """Any JSON value, storable (`StorableMixin`)."""


class StorableDictField(StorableMixin, serializers.DictField):
    """A JSON object, storable (`StorableMixin`)."""
