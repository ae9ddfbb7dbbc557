"""Job kinds: what a background job may do, registered by the app that owns it.

Each app lists its kinds in `<app>/jobs.py` with `@register`. A kind turns one input
row into one call of the app's existing service (`apply`), and says what that call
would do without doing it (`preview`, for dry runs). The runner
(`oms.services.jobs`) gives each row its own transaction; a kind raises
`ApplicationError` (or django-fsm's `TransitionNotAllowed`) to fail a row with a
reason, and never commits or catches database errors itself.
"""

from collections.abc import Mapping
from typing import Any, ClassVar

from django.utils.module_loading import autodiscover_modules

from oms.errors import ApplicationError, NotFound
from oms.roles import has_role

_KINDS: dict[str, "JobKind"] = {}
_discovered = False


class JobKind:
    """One kind of bulk work. Subclasses set the class attributes and implement
    `apply` and `preview`; `clean_params` and `clean_row` check the input."""

    name: ClassVar[str]
    label: ClassVar[str]
    roles: ClassVar[tuple[str, ...]]
    # The CSV header an upload of this kind must start with.
    columns: ClassVar[tuple[str, ...]]
    # Job-wide parameters: name → (label, required).
    params: ClassVar[dict[str, tuple[str, bool]]] = {}
    # Rows with the same values in these columns are one target: only the first
    # runs, the others are skipped as duplicates.
    unique_by: ClassVar[tuple[str, ...]] = ()

    def clean_params(self, params: Mapping[str, Any]) -> dict[str, str]:
        """The job's parameters, stripped; 400 with field errors when a required
        one is missing."""
        cleaned = {
            name: str(params.get(name) or "").replace("\x00", "").strip()[:500]
            for name in self.params
        }
        missing = {
            name: [f"{label} is required."]
            for name, (label, required) in self.params.items()
            if required and not cleaned[name]
        }
        if missing:
            raise ApplicationError(
                "; ".join(errors[0] for errors in missing.values()),
                code="invalid_job_params",
                field_errors=missing,
            )
        return cleaned

    def clean_row(self, row: Mapping[str, Any]) -> dict[str, str]:
        """The row's columns as stripped text (NUL characters dropped)."""
        return {
            column: str(row.get(column) or "").replace("\x00", "").strip()
            for column in self.columns
        }

    def describe(self, row: Mapping[str, str]) -> str:
        """How a row is named in reports: its columns, joined."""
        return " ".join(row.get(column, "") for column in self.columns)

    def apply(
        self, *, row: dict[str, str], params: dict[str, str], actor, reference: str
    ) -> str:
        """Do the row's work through the app's service; return what was done.
        `reference` names the job and row (`job:<id>:<line>`) for records that
        keep one."""
        raise NotImplementedError

    def preview(self, *, row: dict[str, str], params: dict[str, str]) -> str:
        """Say what `apply` would do, changing nothing; raise what it would raise."""
        raise NotImplementedError

    def allowed_for(self, user) -> bool:
        return has_role(user, *self.roles)


def register(kind_class: type[JobKind]) -> type[JobKind]:
    """Class decorator: make a kind available to jobs by its `name`."""
    _KINDS[kind_class.name] = kind_class()
    return kind_class


def _discover() -> None:
    global _discovered
    if not _discovered:
        autodiscover_modules("jobs")
        _discovered = True


def job_kinds() -> dict[str, JobKind]:
    _discover()
    return dict(sorted(_KINDS.items()))


def job_kind(name: str) -> JobKind:
    _discover()
    try:
        return _KINDS[name]
    except KeyError:
        raise NotFound(
            f"Unknown job kind {name!r}.",
            code="unknown_job_kind",
            extra={"kinds": sorted(_KINDS)},
        ) from None


def kinds_for(user) -> list[JobKind]:
    """The kinds `user` may run, by label."""
    return sorted(
        (kind for kind in job_kinds().values() if kind.allowed_for(user)),
        key=lambda kind: kind.label,
    )
