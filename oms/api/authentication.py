from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db.models import BooleanField, ExpressionWrapper, F, Q
from django.db.models.functions import Now
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from oms.db.compiled import CompiledQuery
from oms.models import ApiClient
from oms.roles import remember_roles
from oms.services.api_clients import hash_token

LAST_USED_PRECISION = timedelta(minutes=1)

# The token's user, its client and the user's roles in one query: one row per
# group (a LEFT JOIN), so the permission check needs no query of its own.
_TOKEN_HOLDER = CompiledQuery(
    lambda token_hash: (
        get_user_model()
        .objects.filter(
            api_client__token_hash=token_hash, api_client__active=True, is_active=True
        )
        .annotate(
            client_id=F("api_client__id"),
            client_used_lately=ExpressionWrapper(
                Q(api_client__last_used_at__gte=Now() - LAST_USED_PRECISION),
                output_field=BooleanField(),
            ),
            group_name=F("groups__name"),
        )
    )
)


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
        rows = list(_TOKEN_HOLDER(hash_token(parts[1])))
        if not rows:
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        user = rows[0]
        remember_roles(user, {row.group_name for row in rows if row.group_name})
        if not user.client_used_lately:
            ApiClient.objects.filter(pk=user.client_id).update(
                last_used_at=timezone.now()
            )
        # The client as `.only("id", "user")` would load it: nothing reads more.
        client = ApiClient.from_db(
            user._state.db, ["id", "user_id"], [user.client_id, user.pk]
        )
        client.user = user
        return user, client

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "oms.api.authentication.ApiTokenAuthentication"
    name = "ApiToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer"}
