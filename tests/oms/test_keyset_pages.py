"""Keyset pages: walking a list forwards and back shows every row exactly once,
also when many rows tie on the leading ordering field."""

from datetime import timedelta

import pytest
from django.http import QueryDict
from django.utils import timezone

from oms.backoffice.keyset import keyset_page
from oms.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def tied_events():
    """25 events at only 4 distinct times: most of them tie on occurred_at."""
    now = timezone.now()
    Event.objects.bulk_create(
        [
            Event(
                name="order.created",
                occurred_at=now - timedelta(minutes=n % 4),
                entity_type="order",
                entity_id=str(n),
                payload={},
            )
            for n in range(25)
        ]
    )
    return Event.objects.order_by("-occurred_at", "-id")


def params(url: str | None) -> QueryDict:
    return QueryDict((url or "?").lstrip("?"))


def walk(queryset, *, size: int, start: QueryDict, direction: str) -> list[list[int]]:
    pages, query = [], start
    while True:
        page = keyset_page(queryset, query, size=size)
        pages.append([event.pk for event in page])
        url = page.next_url if direction == "next" else page.previous_url
        if url is None:
            return pages
        query = params(url)


def test_pages_forward_hold_every_row_once_in_order_despite_ties(tied_events):
    pages = walk(tied_events, size=7, start=QueryDict(), direction="next")

    assert [len(page) for page in pages] == [7, 7, 7, 4]
    assert sum(pages, []) == list(tied_events.values_list("pk", flat=True))


def test_previous_links_walk_back_over_the_same_pages(tied_events):
    forward = walk(tied_events, size=7, start=QueryDict(), direction="next")
    last = keyset_page(tied_events, QueryDict(), size=7)
    for _ in range(3):
        last = keyset_page(tied_events, params(last.next_url), size=7)

    backward = walk(
        tied_events, size=7, start=params(last.previous_url), direction="previous"
    )

    assert backward == forward[:-1][::-1]


def test_other_query_parameters_stay_in_the_links(tied_events):
    page = keyset_page(tied_events, QueryDict("status=failed&q=x"), size=10)

    following = params(page.next_url)
    assert (following["status"], following["q"]) == ("failed", "x")
    assert (
        keyset_page(tied_events, following, size=10).first_url == "?status=failed&q=x"
    )


@pytest.mark.parametrize("cursor", ["not-base64!", "W10", "WyJ4IiwgIjEiXQ", "e30"])
def test_a_cursor_that_does_not_decode_shows_the_first_page(tied_events, cursor):
    page = keyset_page(tied_events, QueryDict(f"after={cursor}"), size=5)

    assert [e.pk for e in page] == list(tied_events.values_list("pk", flat=True)[:5])
    assert page.previous_url is None


def test_an_ordering_without_the_id_is_refused(db):
    with pytest.raises(ValueError):
        keyset_page(Event.objects.order_by("-occurred_at"), QueryDict())
