"""The one error family of the domain layer.

Services raise `ApplicationError` (or a subclass); the API renders it in the error
shape of DESIGN.md and pages show its message. Each app lists its own codes in
`<app>/errors.py`.
"""

from typing import Any


class ApplicationError(Exception):
    """A business rule refused the request; nothing was changed."""

    status_code = 400
    default_code = "invalid"

    def __init__(
        self,
        message: str,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
        field_errors: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.extra = extra or {}
        self.field_errors = field_errors or {}


class NotFound(ApplicationError):
    status_code = 404
    default_code = "not_found"


class Conflict(ApplicationError):
    """The request is valid but not allowed in the current state (HTTP 409)."""

    status_code = 409
    default_code = "conflict"


class PermissionDenied(ApplicationError):
    status_code = 403
    default_code = "permission_denied"
