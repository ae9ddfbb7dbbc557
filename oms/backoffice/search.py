"""The global search box: one value, looked up exactly wherever it may name
something (order number, external id, customer e-mail, SKU, tracking number, RMA
number). Each app offers `search_hits(*, query, user)` in `<app>/search.py`,
returning dicts {kind, label, detail, url} for what the user may open; every
lookup is an equality on an indexed column, so the box answers at any size."""

from importlib import import_module

SEARCH_APPS = ["orders", "orders.routing", "returns", "inventory"]
MAX_QUERY_LENGTH = 200


def search(*, query: str, user) -> list[dict]:
    query = query.replace("\x00", "").strip()
    if not query or len(query) > MAX_QUERY_LENGTH:
        return []
    hits = []
    for app in SEARCH_APPS:
        hits.extend(import_module(f"{app}.search").search_hits(query=query, user=user))
    return hits
