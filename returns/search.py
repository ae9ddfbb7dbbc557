"""Global search: a return by its RMA number."""

from oms.roles import Role, has_role
from returns.selectors import returns_visible_to


def search_hits(*, query: str, user) -> list[dict]:
    if not has_role(user, Role.CSR, Role.STORE_ASSOCIATE):
        return []
    found = returns_visible_to(user=user).filter(rma_number=query.upper()).first()
    if found is None:
        return []
    return [
        {
            "kind": "Return",
            "label": found.rma_number,
            "detail": f"order {found.order.number if found.order else '—'} · "
            f"{found.get_status_display()}",
            "url": found.get_absolute_url(),
        }
    ]
