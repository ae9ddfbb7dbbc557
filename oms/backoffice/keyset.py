"""Keyset pagination for back-office lists.

A page is "the next `size` rows after the last one seen", in the queryset's own
ordering, so a page deep in a million rows costs what the first one does (an index
range scan) and nothing counts the whole table. The ordering must end in the primary
key (`"-id"`, or `"-placed_at", "-id"`): rows that tie on the other fields are then
still in one total order, and no row is skipped or shown twice across pages.

Links carry the boundary row's ordering values in `after=` / `before=` (URL-safe
base64 of JSON). A cursor that does not decode is ignored: the first page is shown.
"""

import base64
import binascii
import json
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import QueryDict

CURSOR_PARAMS = ("after", "before", "page")


@dataclass
class KeysetPage:
    items: list
    next_url: str | None
    previous_url: str | None
    first_url: str | None

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def has_other_pages(self) -> bool:
        return bool(self.next_url or self.previous_url)


def _ordering(queryset: QuerySet) -> list[tuple[str, bool]]:
    """(field, descending) pairs; the last one must be the primary key."""
    ordering = list(queryset.query.order_by) or list(queryset.model._meta.ordering)
    fields = [(name.lstrip("-"), name.startswith("-")) for name in ordering]
    if not fields or fields[-1][0] not in ("id", "pk"):
        raise ValueError(f"Keyset pages need an ordering ending in the id: {ordering}")
    return fields


def _encode(values: list) -> str:
    text = json.dumps([str(value) for value in values])
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str, queryset: QuerySet, fields) -> list | None:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(raw, list) or len(raw) != len(fields):
            return None
        return [
            _model_field(queryset.model, name).to_python(value)
            for (name, _), value in zip(fields, raw, strict=True)
        ]
    except (ValueError, TypeError, binascii.Error, ValidationError):
        return None


def _model_field(model, path: str):
    """The field that `path` ("id", "placed_at", "product__sku") names."""
    *relations, name = path.split("__")
    for relation in relations:
        model = model._meta.get_field(relation).related_model
    return model._meta.pk if name == "pk" else model._meta.get_field(name)


def _beyond(fields, values, *, forward: bool) -> Q:
    """Rows strictly after (`forward`) or before the row with `values`, in the
    ordering: the first differing field decides. The leading field's bound comes
    first so the database can start the index scan there."""
    condition = Q()
    equal_so_far = Q()
    for (name, descending), value in zip(fields, values, strict=True):
        lookup = "lt" if descending == forward else "gt"
        condition |= equal_so_far & Q(**{f"{name}__{lookup}": value})
        equal_so_far &= Q(**{name: value})
    first_name, first_descending = fields[0]
    bound = "lte" if first_descending == forward else "gte"
    return Q(**{f"{first_name}__{bound}": values[0]}) & condition


def _row_values(row, fields) -> list:
    values = []
    for path, _ in fields:
        value = row
        for name in path.split("__"):
            value = getattr(value, name)
        values.append(value)
    return values


def keyset_page(queryset: QuerySet, params: QueryDict, *, size: int = 50) -> KeysetPage:
    """The page of `queryset` that `params` (`after=` / `before=`) points at, with
    links to the neighbouring pages that keep the other query parameters."""
    fields = _ordering(queryset)
    base = params.copy()
    for name in CURSOR_PARAMS:
        base.pop(name, None)
    after = _decode(params.get("after", ""), queryset, fields)
    before = None if after else _decode(params.get("before", ""), queryset, fields)
    if before is not None:
        reversed_order = [f"{'' if desc else '-'}{name}" for name, desc in fields]
        rows = list(
            queryset.filter(_beyond(fields, before, forward=False)).order_by(
                *reversed_order
            )[: size + 1]
        )
        more_before = len(rows) > size
        rows = rows[:size][::-1]
        more_after = True
    else:
        if after is not None:
            queryset = queryset.filter(_beyond(fields, after, forward=True))
        rows = list(queryset[: size + 1])
        more_after = len(rows) > size
        rows = rows[:size]
        more_before = after is not None

    def link(name: str | None, row) -> str:
        query = base.copy()
        if name:
            query[name] = _encode(_row_values(row, fields))
        return f"?{query.urlencode()}"

    return KeysetPage(
        items=rows,
        next_url=link("after", rows[-1]) if rows and more_after else None,
        previous_url=link("before", rows[0]) if rows and more_before else None,
        first_url=link(None, None) if (after or before) else None,
    )
