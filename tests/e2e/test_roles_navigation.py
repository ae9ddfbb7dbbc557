"""Each role logs in and sees only the areas it may use; other pages are refused."""

import pytest

from oms.roles import Role

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

INVENTORY_READ = {"Stock", "Ledger", "Transfer orders", "ASNs"}
INVENTORY_WORK = {"Adjust stock", "Cycle counts"}
SIDEBAR = {
    Role.CSR: {
        "Orders",
        "Queues",
        "Payment transactions",
        "Fulfillment requests",
        "Brokering runs",
        "Simulate routing",
        "Returns",
        "Bulk jobs",
        *INVENTORY_READ,
    },
    Role.STORE_ASSOCIATE: {
        "Fulfillment requests",
        "Returns",
        *INVENTORY_READ,
        *INVENTORY_WORK,
    },
    Role.INVENTORY_MANAGER: {
        "Fulfillment requests",
        "ERP stock sync",
        "Bulk jobs",
        *INVENTORY_READ,
        *INVENTORY_WORK,
    },
}
ADMIN_ONLY = {"Webhooks", "Event feed", "Routing rules", "Workflows"}
# A page each role must not open (the sidebar hides it; the server refuses it).
FORBIDDEN = {
    Role.CSR: "/backoffice/integrations/webhooks/",
    Role.STORE_ASSOCIATE: "/backoffice/orders/",
    Role.INVENTORY_MANAGER: "/backoffice/returns/",
}


def sidebar_links(page) -> set[str]:
    nav = page.get_by_role("navigation", name="Main")
    return {text.strip() for text in nav.get_by_role("link").all_inner_texts()} - {
        "OMS back-office",
        "Dashboard",
    }


@pytest.mark.parametrize("role", list(SIDEBAR))
def test_each_role_sees_only_its_areas(page, live_server, login, make_user, role):
    login(page, make_user(role))
    assert sidebar_links(page) == SIDEBAR[role]
    assert page.goto(f"{live_server.url}{FORBIDDEN[role]}").status == 403


def test_admin_sees_every_area_and_opens_every_page(
    page, live_server, login, make_user, screenshot
):
    login(page, make_user(Role.ADMIN))
    links = sidebar_links(page)
    assert links == set().union(*SIDEBAR.values(), ADMIN_ONLY)
    screenshot(page, "admin-dashboard")
    nav = page.get_by_role("navigation", name="Main")
    for href in nav.get_by_role("link").evaluate_all("els => els.map(e => e.href)"):
        assert page.goto(href).status == 200, href


def test_wrong_password_shows_an_error(page, live_server, make_user):
    user = make_user(Role.CSR)
    page.goto(f"{live_server.url}/backoffice/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    assert "correct username and password" in page.get_by_role("alert").inner_text()
