"""Streamed CSV exports of the ledger: filters apply, and the rows are read in
keyset chunks, never the whole queryset at once."""

import csv
import io
import tracemalloc

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory import selectors, services
from inventory.models import InventoryTransaction
from oms.exports import export_response
from oms.roles import Role

pytestmark = pytest.mark.django_db

ROWS = 3000


@pytest.fixture
def ledger(store, make_product):
    """ROWS ledger rows of one SKU and 3 of another, posted through the ledger."""
    bulk, other = make_product("BULK"), make_product("OTHER")
    entries = [
        services.LedgerEntry(
            location_id=store.pk,
            product_id=product.pk,
            quantity=1,
            type=InventoryTransaction.Type.ADJUSTMENT,
            reason=InventoryTransaction.Reason.FOUND,
            reference=f"REF-{n}",
        )
        for product, count in ((bulk, ROWS), (other, 3))
        for n in range(count)
    ]
    services.ledger_post(entries=entries)
    return bulk, other


def read_csv(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_the_ledger_export_applies_the_filters(client, make_user, store, ledger):
    client.force_login(make_user(Role.INVENTORY_MANAGER))

    response = client.get("/backoffice/inventory/ledger/export.csv", {"sku": "OTHER"})

    assert response["Content-Disposition"] == 'attachment; filename="ledger.csv"'
    rows = read_csv(response)
    assert [(r["sku"], r["location"], r["reference"]) for r in rows] == [
        ("OTHER", store.code, "REF-2"),
        ("OTHER", store.code, "REF-1"),
        ("OTHER", store.code, "REF-0"),
    ]
    assert {r["quantity"] for r in rows} == {"1"}


def test_an_export_reads_in_keyset_chunks_of_bounded_size(ledger):
    queryset = selectors.ledger_list(sku="BULK")

    with CaptureQueriesContext(connection) as queries:
        rows = read_csv(
            export_response(
                filename="x.csv",
                queryset=queryset,
                columns={"id": lambda t: t.pk, "sku": lambda t: t.product.sku},
                chunk_size=1000,
            )
        )

    assert len(rows) == ROWS
    ids = [int(r["id"]) for r in rows]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == ROWS
    selects = [
        q["sql"] for q in queries if "inventory_inventorytransaction" in q["sql"]
    ]
    # 3 full chunks and the empty 4th that ends it (select_related: one query each).
    assert len(selects) == 4
    assert all("LIMIT 1000" in sql for sql in selects)
    assert sum('"id" <' in sql for sql in selects) == 3  # keyset, not OFFSET
    assert not any("OFFSET" in sql for sql in selects)


def peak_bytes(work) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow  # tracemalloc slows every allocation down
def test_streaming_an_export_holds_a_chunk_not_the_whole_list(ledger):
    queryset = selectors.ledger_list(sku="BULK")
    columns = {"id": lambda t: t.pk, "ref": lambda t: t.reference}

    def stream():
        response = export_response(
            filename="x.csv", queryset=queryset, columns=columns, chunk_size=250
        )
        for _ in response.streaming_content:
            pass

    streamed = peak_bytes(stream)
    materialised = peak_bytes(lambda: list(queryset))

    # All 3,000 rows at once cost several times what one 250-row chunk does.
    assert streamed * 3 < materialised, (streamed, materialised)
