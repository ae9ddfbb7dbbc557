from django.db.models import F
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from oms.models import ApiClient
from oms.roles import remember_roles
from oms.services.api_clients import hash_token


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>` for integrations; the token is looked up by
    its SHA-256 hash, never stored in clear."""

    keyword = "bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(
            errors="ignore"
        )
        parts = header.split()
        if not parts or parts[0].lower() not in (self.keyword, "token"):
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        # One query for the client, its user and the user's roles: one row per
        # group (a LEFT JOIN), so the permission check needs no query of its own.
        rows = list(
            ApiClient.objects.select_related("user")
            .filter(token_hash=hash_token(parts[1]), active=True, user__is_active=True)
            .annotate(group_name=F("user__groups__name"))
        )
        if not rows:
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        client = rows[0]
        remember_roles(client.user, {row.group_name for row in rows if row.group_name})
        now = timezone.now()
        if (
            client.last_used_at is None
            or (now - client.last_used_at).total_seconds() > 60
        ):
            ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
        return client.user, client

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "oms.api.authentication.ApiTokenAuthentication"
    name = "ApiToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer"}
