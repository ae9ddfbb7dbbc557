"""Every API error in one JSON shape: type, title, status, detail, errors."""

import logging
import re
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404
from django.views.defaults import page_not_found
from django.views.defaults import server_error as default_server_error
from django_fsm import TransitionNotAllowed
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from oms.errors import ApplicationError

logger = logging.getLogger(__name__)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def renderable(value):
    """`value` (strings, dicts and lists of them) with each lone UTF-16 surrogate
    written as its escape, the six characters `\\ud800`. JSON carries such a
    character (`"\\ud800"`) but UTF-8 cannot encode it: an answer that echoes the
    client's input (an unknown field's name, an external id) could not be
    rendered, and the refusal became a 500."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub(lambda found: f"\\u{ord(found[0]):04x}", value)
    if isinstance(value, dict):
        return {renderable(key): renderable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [renderable(item) for item in value]
    return value


def error_body(
    status_code: int, detail: str, code: str, errors: dict | None = None, **extra
):
    body = {
        "type": code,
        "title": HTTPStatus(status_code).phrase,
        "status": status_code,
        "detail": detail,
        "errors": errors or {},
    }
    body.update(extra)
    return renderable(body)


def too_large_body(limit: int) -> dict:
    detail = f"The request body is larger than the {limit} bytes accepted."
    return error_body(413, detail, "request_too_large")


def field_errors(detail) -> dict[str, list]:
    """A `ValidationError`'s detail as the `errors` of the error shape: each field
    → its messages; the errors of a nested value are one object in that list,
    keyed and nested the same way."""
    if isinstance(detail, dict):
        flat = {}
        for field, messages in detail.items():
            flat[field] = _flatten(messages)
        return flat
    return {"non_field_errors": _flatten(detail)}


def _flatten(messages) -> list:
    if isinstance(messages, list):
        if all(isinstance(m, (str, exceptions.ErrorDetail)) for m in messages):
            return [str(m) for m in messages]
        return [
            field_errors(m) if isinstance(m, dict) else _flatten(m) for m in messages
        ]
    if isinstance(messages, dict):
        return [field_errors(messages)]
    return [str(messages)]


def transition_conflict(exc: TransitionNotAllowed) -> Response:
    instance = getattr(exc, "object", None)
    method = getattr(exc, "method", None)
    current = getattr(instance, "status", None)
    allowed: list[str] = []
    if instance is not None and hasattr(instance, "get_available_status_transitions"):
        allowed = sorted({t.name for t in instance.get_available_status_transitions()})
    action = getattr(method, "__name__", "this action")
    detail = f"Cannot {action.replace('_', ' ')} while status is {current!r}."
    body = error_body(
        409,
        detail,
        "transition_not_allowed",
        current_state=current,
        allowed_transitions=allowed,
    )
    return Response(body, status=409)


def database_unavailable(exc: Exception, request=None) -> Response:
    """A lost connection, a deadlock or a serialization failure: the request's
    transaction was rolled back, so the client may send it again (writes are
    idempotent by external id or Idempotency-Key). Not a 500: nothing is broken,
    but the cause is logged with PostgreSQL's error code (40P01 deadlock, 40001
    serialization failure, 57P01 terminated...) so that a repeated one is found."""
    logger.warning(
        "503 database_unavailable on %s %s: sqlstate=%s %s",
        getattr(request, "method", "-"),
        getattr(request, "path", "-"),
        getattr(exc.__cause__, "sqlstate", None),
        str(exc).strip().replace("\n", " | "),
    )
    set_rollback()
    body = error_body(
        503,
        "The database failed during the request and its transaction was rolled "
        "back. Send it again.",
        "database_unavailable",
    )
    return Response(body, status=503, headers={"Retry-After": "1"})


def exception_handler(exc, context):
    if isinstance(exc, (OperationalError, InterfaceError)):
        return database_unavailable(exc, context.get("request"))
    if isinstance(exc, RequestDataTooBig):
        # Form fields of a multipart body beyond DATA_UPLOAD_MAX_MEMORY_SIZE.
        body = too_large_body(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        return Response(body, status=413)
    if isinstance(exc, SuspiciousOperation):
        # Too many form fields or files, a malformed multipart body: the client's.
        return Response(error_body(400, str(exc), "bad_request"), status=400)
    if isinstance(exc, TransitionNotAllowed):
        return transition_conflict(exc)
    if isinstance(exc, ApplicationError):
        body = error_body(
            exc.status_code, exc.message, exc.code, exc.field_errors, **exc.extra
        )
        return Response(body, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        errors = (
            exc.message_dict
            if hasattr(exc, "error_dict")
            else {"non_field_errors": exc.messages}
        )
        return Response(
            error_body(400, "Invalid input.", "invalid", errors), status=400
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail, errors = "Invalid input.", field_errors(exc.detail)
    else:
        detail, errors = str(exc.detail), {}
    code = getattr(exc, "default_code", "error")
    if isinstance(exc.detail, exceptions.ErrorDetail):
        code = exc.detail.code or code
    response.data = error_body(response.status_code, detail, code, errors)
    return response


def json_error_response(status_code: int, detail: str, code: str):
    """For code outside DRF views (middleware): the same shape as a JsonResponse."""
    from django.http import JsonResponse

    return JsonResponse(error_body(status_code, detail, code), status=status_code)


def not_found(request, exception):
    """handler404: under /api/ a path no route matches is a 404 in the error shape;
    elsewhere Django's page."""
    if request.path.startswith("/api/"):
        return json_error_response(404, "Not found.", "not_found")
    return page_not_found(request, exception)


def server_error(request):
    """handler500: the API answers a crash in the error shape too."""
    if request.path.startswith("/api/"):
        return json_error_response(500, "Server error.", "server_error")
    return default_server_error(request)


__all__ = [
    "exception_handler",
    "error_body",
    "field_errors",
    "json_error_response",
    "renderable",
    "not_found",
    "server_error",
    "status",
]
