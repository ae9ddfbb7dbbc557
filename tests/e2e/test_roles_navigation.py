"""Each role logs in and sees only the areas it may use."""

import pytest

from oms.roles import Role

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_admin_sees_integrations_and_a_csr_does_not(
    page, live_server, login, make_user, screenshot
):
    login(page, make_user(Role.ADMIN))
    sidebar = page.get_by_role("navigation", name="Main")
    assert sidebar.get_by_role("link", name="Webhooks").is_visible()
    screenshot(page, "admin-dashboard")

    page.get_by_role("button", name="Log out").click()
    login(page, make_user(Role.CSR))
    assert (
        page.get_by_role("navigation", name="Main")
        .get_by_role("link", name="Webhooks")
        .count()
        == 0
    )
    response = page.goto(f"{live_server.url}/backoffice/integrations/webhooks/")
    assert response.status == 403


def test_wrong_password_shows_an_error(page, live_server, make_user):
    user = make_user(Role.CSR)
    page.goto(f"{live_server.url}/backoffice/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").is_visible()
    assert "correct username and password" in page.get_by_role("alert").inner_text()
