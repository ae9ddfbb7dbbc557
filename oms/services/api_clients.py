"""Integration credentials: one token per API client, stored hashed."""

import hashlib
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from oms.errors import ApplicationError
from oms.models import ApiClient
from oms.roles import Role

TOKEN_PREFIX = "oms"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def api_client_create(
    *, name: str, role: str = Role.INTEGRATION
) -> tuple[ApiClient, str]:
    """Create a client acting as its own user in `role`; returns it and the token,
    which is not stored and cannot be shown again."""
    if role not in Role.values:
        raise ApplicationError(f"Unknown role {role!r}.", code="unknown_role")
    if ApiClient.objects.filter(name=name).exists():
        raise ApplicationError(
            f"An API client named {name!r} exists.", code="duplicate"
        )
    prefix = secrets.token_hex(4)
    token = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        user = get_user_model().objects.create(username=f"api:{name}", is_active=True)
        user.set_unusable_password()
        user.save(update_fields=["password"])
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        client = ApiClient.objects.create(
            name=name, user=user, token_prefix=prefix, token_hash=hash_token(token)
        )
    return client, token
