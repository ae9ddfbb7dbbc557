from rest_framework.permissions import BasePermission

from oms.roles import has_role


class DenyAll(BasePermission):
    """The default: an endpoint that forgets to declare its roles is closed."""

    def has_permission(self, request, view) -> bool:
        return False


def roles_allowed(*roles: str) -> type[BasePermission]:
    """A permission class admitting authenticated users holding one of `roles`
    (admins always). Use as `permission_classes = [roles_allowed(Role.CSR)]`."""

    class HasRole(BasePermission):
        allowed_roles = frozenset(roles)

        def has_permission(self, request, view) -> bool:
            return has_role(request.user, *roles)

    HasRole.__name__ = (
        "HasRole_" + "_".join(sorted(roles)) if roles else "HasRole_admin"
    )
    return HasRole


class Public(BasePermission):
    """Explicitly open endpoints (health, schema)."""

    def has_permission(self, request, view) -> bool:
        return True
