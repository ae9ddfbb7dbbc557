import pytest
from django.db import transaction

from oms.roles import Role
from oms.services.events import dispatch_events, record_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_events(django_user_model):
    user = django_user_model.objects.create(username="u")
    with transaction.atomic():
        for name in ["order.created", "order.opened", "return.processed"]:
            record_event(name, user, {"name": name})
    dispatch_events()


def test_feed_resumes_after_the_last_id(integration_api, three_events):
    first = integration_api.get("/api/v1/events", {"limit": 2}).json()
    assert [e["id"] for e in first["events"]] == [1, 2]
    rest = integration_api.get("/api/v1/events", {"after": first["next_after"]}).json()
    assert [e["name"] for e in rest["events"]] == ["return.processed"]
    assert rest["events"][0].keys() == {
        "id",
        "name",
        "occurred_at",
        "entity_type",
        "entity_id",
        "payload",
    }


def test_feed_filters_by_name_pattern(integration_api, three_events):
    body = integration_api.get("/api/v1/events", {"name": "order.*"}).json()
    assert [e["name"] for e in body["events"]] == ["order.created", "order.opened"]


def test_feed_rejects_a_bad_cursor_in_the_error_shape(integration_api):
    response = integration_api.get("/api/v1/events", {"after": "x"})
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400 and "after" in body["errors"]


@pytest.mark.parametrize(
    "role,expected", [(None, 401), (Role.CSR, 403), (Role.ADMIN, 200)]
)
def test_feed_is_for_integrations_and_admins(api_client_for, role, expected):
    response = api_client_for(role).get("/api/v1/events")
    assert response.status_code == expected
    if expected != 200:
        assert response.json()["status"] == expected
