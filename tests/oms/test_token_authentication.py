"""Integrations authenticate with a bearer token: looked up on every request, so a
revoked token or a disabled user is refused at once."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from oms.models import ApiClient
from oms.roles import Role
from oms.services.api_clients import api_client_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration():
    client, token = api_client_create(name="erp")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client, api


def test_a_request_with_the_token_is_served_and_stamps_the_client(integration):
    client, api = integration

    assert api.get("/api/v1/events").status_code == 200

    client.refresh_from_db()
    assert client.last_used_at is not None
    assert timezone.now() - client.last_used_at < timedelta(seconds=5)


def test_the_last_use_is_stamped_at_most_once_a_minute(integration):
    client, api = integration
    api.get("/api/v1/events")
    stamped = ApiClient.objects.get(pk=client.pk).last_used_at

    api.get("/api/v1/events")
    assert ApiClient.objects.get(pk=client.pk).last_used_at == stamped

    ApiClient.objects.filter(pk=client.pk).update(
        last_used_at=stamped - timedelta(minutes=2)
    )
    api.get("/api/v1/events")
    assert ApiClient.objects.get(pk=client.pk).last_used_at > stamped


def test_a_revoked_token_is_refused_on_its_next_request(integration):
    client, api = integration
    assert api.get("/api/v1/events").status_code == 200

    ApiClient.objects.filter(pk=client.pk).update(active=False)

    assert api.get("/api/v1/events").status_code == 401


def test_a_disabled_user_is_refused_on_its_next_request(integration):
    client, api = integration
    assert api.get("/api/v1/events").status_code == 200

    client.user.is_active = False
    client.user.save()

    assert api.get("/api/v1/events").status_code == 401


def test_an_unknown_token_is_refused(integration):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Bearer oms_nope_nope")

    assert api.get("/api/v1/events").status_code == 401


def test_roles_follow_the_groups_on_the_next_request(integration):
    client, api = integration
    # Bulk jobs are for staff: an integration may not list them, a CSR may.
    assert api.get("/api/v1/jobs").status_code == 403

    client.user.groups.add(Group.objects.get_or_create(name=Role.CSR)[0])

    assert api.get("/api/v1/jobs").status_code == 200
