"""Roles are Django groups. Pages and endpoints declare which roles may use them."""

from django.db import models


class Role(models.TextChoices):
    CSR = "csr", "Customer service"
    STORE_ASSOCIATE = "store_associate", "Store associate"
    INVENTORY_MANAGER = "inventory_manager", "Inventory manager"
    ADMIN = "admin", "Administrator"
    INTEGRATION = "integration", "Integration (API client)"


STAFF_ROLES = (Role.CSR, Role.STORE_ASSOCIATE, Role.INVENTORY_MANAGER, Role.ADMIN)


def user_roles(user) -> set[str]:
    """The role names of a user; cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_oms_roles", None)
    if cached is None:
        cached = remember_roles(user, user.groups.values_list("name", flat=True))
    return cached


def remember_roles(user, group_names) -> set[str]:
    """Cache the roles of `user` from its group names, loaded by the caller along
    with the user (token authentication does, in its one query)."""
    roles = set(group_names)
    if user.is_superuser:
        roles.add(Role.ADMIN)
    user._oms_roles = roles
    return roles


def has_role(user, *roles: str) -> bool:
    """Admins may do everything; everyone else needs one of `roles`."""
    held = user_roles(user)
    return Role.ADMIN in held or bool(held.intersection(roles))
