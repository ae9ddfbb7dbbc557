"""ERP stock sync: absolute quantities become adjustments; bad rows are reported."""

import io

import pytest

from inventory import selectors, services
from inventory.models import InventoryTransaction, Location, Product, StockLevel
from oms.models import Event

pytestmark = pytest.mark.django_db


def csv_file(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode())


def test_sync_posts_differences_and_reports_rejected_rows(
    store, dc, make_product, receive
):
    shirt, cap, hat = make_product("SHIRT"), make_product("CAP"), make_product("HAT")
    receive(store, shirt, 5)
    receive(store, cap, 2)
    receive(store, hat, 3)
    services.reservation_create(
        location=store, product=cap, quantity=2, owner_type="o", owner_id="1"
    )
    upload = csv_file(
        "location,sku,quantity\n"
        f"{store.code},SHIRT,8\n"
        f"{store.code},HAT,3\n"
        f"{dc.code},SHIRT,40\n"
        "NOWHERE,SHIRT,1\n"
        f"{store.code},NOPE,1\n"
        f"{store.code},SHIRT,-3\n"
        f"{store.code},CAP,1\n"
        f"{dc.code},SHIRT,41\n"
        "\n"
    )

    sync = services.stock_sync_run(rows=services.sync_rows_from_csv(upload))

    assert (sync.rows_total, sync.rows_changed, sync.rows_unchanged) == (8, 2, 1)
    assert sync.rows_rejected == 5
    assert [row["line"] for row in sync.rejected] == [5, 6, 7, 8, 9]
    assert "Unknown location" in sync.rejected[0]["error"]
    assert "Unknown SKU" in sync.rejected[1]["error"]
    assert "reserved" in sync.rejected[3]["error"]
    assert "Duplicate" in sync.rejected[4]["error"]
    levels = {
        (s.location.code, s.product.sku): s.on_hand
        for s in StockLevel.objects.select_related("location", "product")
    }
    assert levels == {
        (store.code, "SHIRT"): 8,
        (store.code, "CAP"): 2,
        (store.code, "HAT"): 3,
        (dc.code, "SHIRT"): 40,
    }
    adjustments = InventoryTransaction.objects.filter(reason="sync")
    assert sorted(adjustments.values_list("quantity", flat=True)) == [3, 40]
    assert (
        Event.objects.get(name="inventory_sync.completed").payload["rows_rejected"] == 5
    )
    assert selectors.stock_ledger_mismatches() == []


def test_a_file_without_the_header_is_refused_before_anything_is_written():
    with pytest.raises(Exception) as refused:
        services.sync_rows_from_csv(csv_file("STORE-1,SKU,3\n"))
    assert refused.value.code == "invalid_csv"


@pytest.mark.slow
def test_a_hundred_thousand_rows_stream_through_in_batches(tmp_path):
    locations = [
        Location.objects.create(code=f"L{n}", name=f"L{n}", type="store")
        for n in range(10)
    ]
    Product.objects.bulk_create(
        [Product(sku=f"P{n:05d}", name=f"P{n}") for n in range(10_000)]
    )
    path = tmp_path / "stock.csv"
    with path.open("w") as out:
        out.write("location,sku,quantity\n")
        for n in range(10_000):
            for location in locations:
                out.write(
                    f"{location.code},P{n:05d},{(n * 7 + len(location.code)) % 50}\n"
                )

    with path.open("rb") as upload:
        sync = services.stock_sync_run(rows=services.sync_rows_from_csv(upload))

    assert sync.rows_total == 100_000
    assert sync.rows_rejected == 0
    assert sync.rows_changed + sync.rows_unchanged == 100_000
    assert StockLevel.objects.count() == 100_000
    assert selectors.stock_ledger_mismatches() == []
