"""CSV downloads of any list, streamed: rows are read from the database in
keyset-paginated chunks and written as they go, so an export of a million rows holds
one chunk in memory, never the whole queryset."""

import csv
from collections.abc import Callable, Iterable, Iterator

from django.db.models import Model, QuerySet
from django.http import StreamingHttpResponse

EXPORT_CHUNK = 1000


class _Echo:
    """A file-like object whose `write` returns the line instead of storing it."""

    def write(self, value: str) -> str:
        return value


def keyset_chunks(
    queryset: QuerySet, *, chunk_size: int = EXPORT_CHUNK
) -> Iterator[Model]:
    """The queryset's rows, newest id first, fetched `chunk_size` at a time with
    `id < last id` (keyset pagination: every chunk is an index range scan, unlike
    OFFSET, and no cursor stays open between chunks while the client reads).
    `select_related`/`prefetch_related` of the queryset apply per chunk."""
    queryset = queryset.order_by("-pk")
    last = None
    while True:
        page = queryset if last is None else queryset.filter(pk__lt=last)
        chunk = list(page[:chunk_size])
        yield from chunk
        if len(chunk) < chunk_size:
            return
        last = chunk[-1].pk


def csv_response(
    *, filename: str, header: Iterable[str], rows: Iterable[Iterable]
) -> StreamingHttpResponse:
    """A streamed `text/csv` attachment: the header, then `rows` as they come."""
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield "\ufeff" + writer.writerow(list(header))  # BOM: Excel reads UTF-8
        for row in rows:
            yield writer.writerow(list(row))

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def export_response(
    *,
    filename: str,
    queryset: QuerySet,
    columns: dict[str, Callable[[Model], object]],
    chunk_size: int = EXPORT_CHUNK,
) -> StreamingHttpResponse:
    """Stream `queryset` as CSV: one column per (header, value-of-row) entry."""
    getters = list(columns.values())
    return csv_response(
        filename=filename,
        header=columns,
        rows=(
            [getter(obj) for getter in getters]
            for obj in keyset_chunks(queryset, chunk_size=chunk_size)
        ),
    )
