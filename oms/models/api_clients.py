from django.conf import settings
from django.db import models


class ApiClient(models.Model):
    """An integration's credentials. The token is stored hashed (SHA-256); only its
    prefix is kept readable to tell tokens apart. Each client acts as its own user, so
    roles and audit work the same for people and integrations."""

    name = models.CharField(max_length=100, unique=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_client"
    )
    token_prefix = models.CharField(max_length=16, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name
