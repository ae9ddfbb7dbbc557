"""Security settings: the login throttle, the headers of the back-office pages, and
`check --deploy` with production settings."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client

from oms.roles import Role

ROOT = Path(__file__).resolve().parents[2]
LOGIN = "/backoffice/login/"


@pytest.fixture
def throttle(settings):
    settings.OMS_LOGIN_MAX_FAILURES = 3
    cache.clear()
    yield
    cache.clear()


def _log_in(
    username: str, password: str, address: str = "10.0.0.1", forwarded_for: str = ""
):
    client = Client(REMOTE_ADDR=address)
    headers = {"x-forwarded-for": forwarded_for} if forwarded_for else {}
    response = client.post(
        LOGIN, {"username": username, "password": password}, headers=headers
    )
    return client, response


@pytest.mark.django_db
def test_after_too_many_failures_even_the_right_password_is_refused(
    make_user, throttle
):
    user = make_user(Role.CSR, username="dana")
    for _ in range(3):
        _, failed = _log_in("dana", "wrong")
        assert failed.status_code == 200
        assert "Please enter a correct username and password" in failed.text

    client, locked = _log_in("dana", "test-password")

    assert locked.status_code == 200
    assert "Too many failed logins for this username" in locked.text
    assert "_auth_user_id" not in client.session
    # Another address, or another username, is not locked out.
    _, elsewhere = _log_in("dana", "test-password", address="10.0.0.2")
    assert elsewhere.status_code == 302
    assert user.is_active


@pytest.mark.django_db
def test_without_trusted_proxies_a_forged_forwarded_for_does_not_escape_the_lockout(
    make_user, throttle, settings
):
    settings.OMS_TRUSTED_PROXIES = 0
    make_user(Role.CSR, username="fay")
    for attempt in range(3):
        _log_in("fay", "wrong", forwarded_for=f"192.0.2.{attempt}")

    _, locked = _log_in("fay", "test-password", forwarded_for="192.0.2.99")

    assert "Too many failed logins for this username" in locked.text


@pytest.mark.django_db
def test_behind_a_trusted_proxy_each_client_address_is_throttled_apart(
    make_user, throttle, settings
):
    """Every request comes from the proxy (one REMOTE_ADDR); the proxy appends the
    client's address to whatever X-Forwarded-For the client sent."""
    settings.OMS_TRUSTED_PROXIES = 1
    make_user(Role.CSR, username="gus")
    proxy = "10.9.9.9"
    for _ in range(3):
        _log_in("gus", "wrong", address=proxy, forwarded_for="198.51.100.7")

    _, attacker = _log_in(
        "gus", "test-password", address=proxy, forwarded_for="1.2.3.4, 198.51.100.7"
    )
    _, colleague = _log_in(
        "gus", "test-password", address=proxy, forwarded_for="198.51.100.8"
    )

    assert "Too many failed logins for this username" in attacker.text
    assert colleague.status_code == 302


@pytest.mark.django_db
def test_a_successful_login_clears_the_failures(make_user, throttle):
    make_user(Role.CSR, username="erin")
    for _ in range(2):
        _log_in("erin", "wrong")

    _, success = _log_in("erin", "test-password")
    for _ in range(2):
        _log_in("erin", "wrong")
    _, again = _log_in("erin", "test-password")

    assert success.status_code == 302
    assert again.status_code == 302


@pytest.mark.django_db
def test_a_form_without_its_csrf_token_gets_the_back_office_error_page(make_user):
    make_user(Role.CSR, username="hal")
    client = Client(enforce_csrf_checks=True)

    response = client.post(LOGIN, {"username": "hal", "password": "test-password"})

    assert response.status_code == 403
    assert 'data-testid="error-page"' in response.text
    assert "Form expired" in response.text


@pytest.mark.django_db
def test_back_office_pages_send_the_security_headers(make_user, settings):
    settings.SECURE_HSTS_SECONDS = 31_536_000
    client = Client()
    client.force_login(make_user(Role.ADMIN))

    page = client.get("/backoffice/", secure=True)
    login = Client().get(LOGIN)
    api = client.get("/api/v1/health", secure=True)

    policy = page["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert login["Content-Security-Policy"] == policy
    assert page["X-Content-Type-Options"] == "nosniff"
    assert page["Referrer-Policy"] == "same-origin"
    assert page["X-Frame-Options"] == "DENY"
    assert page["Strict-Transport-Security"].startswith("max-age=31536000")
    assert api["X-Content-Type-Options"] == "nosniff"


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE)


def test_templates_have_no_inline_scripts_the_policy_would_block():
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "templates").rglob("*.html")
        if INLINE_SCRIPT.search(path.read_text())
        or INLINE_HANDLER.search(path.read_text())
    ]

    assert offenders == [], (
        "Move inline <script> and on…= handlers to static/backoffice/*.js "
        "(see backoffice.js: data-confirm)"
    )


def test_templates_have_no_inline_styles_the_policy_would_block():
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "templates").rglob("*.html")
        if INLINE_STYLE.search(path.read_text())
    ]

    assert offenders == [], "Move style attributes to classes in static/*.css"


@pytest.mark.slow
def test_check_deploy_is_clean_with_production_settings():
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PYTEST_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="oms.settings",
        SECRET_KEY="x7-" + "production-grade-secret-key-for-the-check-" * 2,
        ALLOWED_HOSTS="oms.example.com",
        DEBUG="0",
        SECURE_SSL_REDIRECT="1",
        SECURE_COOKIES="1",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="1",
        SECURE_HSTS_PRELOAD="1",
    )

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
