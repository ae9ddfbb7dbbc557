"""Role checks for back-office pages."""

from django.contrib import messages
from django.contrib.auth.mixins import AccessMixin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django_fsm import TransitionNotAllowed

from oms.errors import ApplicationError
from oms.roles import has_role


class RoleRequiredMixin(AccessMixin):
    """Login required, then one of `allowed_roles` (admins always); otherwise 403."""

    allowed_roles: tuple[str, ...] = ()

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not has_role(request.user, *self.allowed_roles):
            raise PermissionDenied("Your role may not open this page.")
        return super().dispatch(request, *args, **kwargs)


def run_action(request, action, *, success: str, redirect_to: str):
    """Run a service call for a page: show `success` or the refusal, then redirect."""
    if attempt_action(request, action) is None:
        messages.success(request, success)
    return redirect(redirect_to)


def attempt_action(request, action) -> ApplicationError | TransitionNotAllowed | None:
    """Run a service call for a page; returns its refusal, already shown as an error
    message, or None when it went through.

    Pages catch the same errors as the API: a rule that refuses the action or a
    transition not allowed now becomes a message, never a 500.
    """
    try:
        action()
    except TransitionNotAllowed as exc:
        messages.error(request, f"Not allowed now: {exc}")
        return exc
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return exc
    return None


def safe_next_url(request, *, default: str) -> str:
    """The posted `next` page to return to, if it is on this site; else `default`.
    Never an open redirect to another host."""
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return next_url
    return default
