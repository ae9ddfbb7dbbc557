"""Fixtures shared by every app's tests.

Unit tests run Celery tasks eagerly; tests marked `integration` start a real worker
(see tests/oms/test_webhook_delivery.py) and must not use the eager mode.
"""

import importlib
import os
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from oms.celery import app as celery_app
from oms.roles import Role
from oms.services.api_clients import api_client_create
from orders.workflows.config import forget_config
from orders.workflows.models import OrderTypeDefinition

DEFAULT_WORKFLOWS = importlib.import_module("orders.migrations.0008_default_workflows")


@pytest.fixture(autouse=True)
def eager_celery(request):
    """Tasks run in-process unless the test exercises a real worker."""
    if request.node.get_closest_marker("integration"):
        yield
        return
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def fresh_workflow_config():
    """Each test reads the workflow configuration of its own database: a copy
    cached by an earlier test may hold steps its rollback removed."""
    forget_config()
    yield
    forget_config()


@pytest.fixture(autouse=True)
def seeded_order_types(request):
    """The order types (and their default steps) the migrations seed, put back
    when a transactional test's flush (this worker ran one before) removed them:
    every order refers to its type."""
    marker = request.node.get_closest_marker("django_db")
    fixtures = set(request.fixturenames)
    if marker is None and not fixtures & {"db", "transactional_db"}:
        return
    transactional = "transactional_db" in fixtures or (
        marker is not None and marker.kwargs.get("transaction", False)
    )
    request.getfixturevalue("transactional_db" if transactional else "db")
    if not OrderTypeDefinition.objects.exists():
        DEFAULT_WORKFLOWS.seed(apps, None)


@pytest.fixture(autouse=True)
def local_webhook_receivers(settings):
    """Tests receive webhooks on 127.0.0.1, which production refuses."""
    settings.OMS_WEBHOOK_ALLOW_PRIVATE_TARGETS = True


@pytest.fixture(autouse=True)
def uncached_dashboard(settings):
    """Dashboard figures are not kept between requests: they are cached per user
    id, and ids repeat from one test to the next (a test of the cache sets a TTL
    and forgets its user's figures)."""
    settings.OMS_DASHBOARD_COUNTERS_TTL = 0
    settings.OMS_DASHBOARD_CHARTS_TTL = 0


@pytest.fixture
def make_user(db):
    """make_user("csr") → a staff user holding that role."""
    counter = {"n": 0}

    def make(role: str | None = None, username: str | None = None, **fields):
        counter["n"] += 1
        user = get_user_model().objects.create_user(
            username=username or f"{role or 'nobody'}-{counter['n']}",
            password="test-password",
            **fields,
        )
        if role:
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        return user

    return make


@pytest.fixture
def api_client_for(db, make_user):
    """api_client_for("csr") → a DRF client logged in as a user with that role;
    api_client_for("integration") → a client sending an integration's bearer token."""

    def make(role: str | None) -> APIClient:
        client = APIClient()
        if role == Role.INTEGRATION:
            _, token = api_client_create(name=f"integration-{make_user().pk}")
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        elif role:
            client.force_authenticate(make_user(role))
        return client

    return make


@pytest.fixture
def admin_api(api_client_for) -> APIClient:
    return api_client_for(Role.ADMIN)


@pytest.fixture
def integration_api(api_client_for) -> APIClient:
    return api_client_for(Role.INTEGRATION)


# Browser tests -----------------------------------------------------------------------
# pytest-playwright drives Debian's Chromium (no `playwright install` here); Django's
# live server runs in a thread, which Playwright's sync API needs this flag for.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
        ],
    }


@pytest.fixture
def login(live_server):
    """login(page, user) → the page is signed in to the back-office as `user`
    (password "test-password", as made by `make_user`)."""

    def sign_in(page, user, password: str = "test-password"):
        page.goto(f"{live_server.url}/backoffice/login/")
        page.get_by_label("Username").fill(user.get_username())
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{live_server.url}/backoffice/**")
        return page

    return sign_in


SCREENSHOTS = Path(__file__).parent / "e2e" / "screenshots"


@pytest.fixture
def screenshot():
    """screenshot(page, "name") saves tests/e2e/screenshots/name.png for review."""

    def save(page, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return save


# Fault tests --------------------------------------------------------------------------
@pytest.fixture
def private_redis():
    """A redis-server of this test's own on a free port, which the test may stop and
    start again (the shared one must never be stopped)."""
    from tests.servers import RedisServer

    with RedisServer() as server:
        yield server
