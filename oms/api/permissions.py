from rest_framework.permissions import SAFE_METHODS, BasePermission

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


def roles_by_method(*, read: tuple[str, ...], write: tuple[str, ...]):
    """A permission class for a list-and-create endpoint: `read` roles may GET,
    `write` roles may also POST (admins always)."""
    readers, writers = roles_allowed(*read)(), roles_allowed(*write)()

    class HasRoleForMethod(BasePermission):
        def has_permission(self, request, view) -> bool:
            allowed = readers if request.method in SAFE_METHODS else writers
            return allowed.has_permission(request, view)

    return HasRoleForMethod


class Public(BasePermission):
    """Explicitly open endpoints (health, schema)."""

    def has_permission(self, request, view) -> bool:
        return True
