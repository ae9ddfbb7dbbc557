"""The sidebar. Each app lists its pages in `<app>/navigation.py` as `NAV_ITEMS`;
the sidebar shows a user only the entries their roles may open."""

from dataclasses import dataclass
from importlib import import_module

from django.urls import reverse

from oms.roles import Role, has_role

SECTIONS = ["Orders", "Fulfillment", "Inventory", "Returns", "Integrations"]
APPS_WITH_PAGES = [
    "orders",
    "orders.routing",
    "orders.workflows",
    "inventory",
    "returns",
    "payments",
    "oms.backoffice",
]


@dataclass(frozen=True)
class NavItem:
    section: str
    label: str
    url_name: str
    roles: tuple[str, ...]


def all_items() -> list[NavItem]:
    items: list[NavItem] = []
    for module in APPS_WITH_PAGES:
        items.extend(import_module(f"{module}.navigation").NAV_ITEMS)
    return items


def sidebar(request) -> dict:
    user = getattr(request, "user", None)
    if (
        user is None
        or not user.is_authenticated
        or not request.path.startswith("/backoffice/")
    ):
        return {}
    sections = []
    for section in SECTIONS:
        links = [
            {"label": item.label, "url": reverse(item.url_name)}
            for item in all_items()
            if item.section == section and has_role(user, *item.roles)
        ]
        if links:
            sections.append({"name": section, "links": links})
    return {"sidebar_sections": sections}


NAV_ITEMS = [
    NavItem("Orders", "Bulk jobs", "backoffice:job-list", (Role.CSR,)),
    NavItem("Inventory", "Bulk jobs", "backoffice:job-list", (Role.INVENTORY_MANAGER,)),
    NavItem("Integrations", "Webhooks", "backoffice:webhook-list", ()),
    NavItem("Integrations", "Event feed", "backoffice:event-list", ()),
]
