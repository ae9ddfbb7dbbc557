"""A stock sync file as a background job: the rules of the ERP stock sync, row by
row, with a dry run that writes nothing."""

import io

import pytest

from inventory import selectors, services
from inventory.models import InventoryTransaction, StockLevel
from oms.jobs import job_kind
from oms.models import Job
from oms.roles import Role
from oms.services import jobs

pytestmark = pytest.mark.django_db


@pytest.fixture
def sync_job(make_user, django_capture_on_commit_callbacks):
    manager = make_user(Role.INVENTORY_MANAGER)

    def run(text: str, *, dry_run: bool = False) -> Job:
        rows = jobs.job_rows_from_csv(
            io.BytesIO(text.encode()), kind=job_kind("inventory.stock_sync")
        )
        with django_capture_on_commit_callbacks(execute=True):
            job = jobs.job_create(
                kind="inventory.stock_sync", rows=rows, actor=manager, dry_run=dry_run
            )
        job.refresh_from_db()
        return job

    return run


FILE = (
    "location,sku,quantity\n"
    "{store},SHIRT,8\n"
    "{store},HAT,3\n"
    "{dc},SHIRT,40\n"
    "NOWHERE,SHIRT,1\n"
    "{store},NOPE,1\n"
    "{store},SHIRT,-3\n"
    "{store},CAP,1\n"
    "{dc},HAT,2.5\n"
)


@pytest.fixture
def stock(store, dc, make_product, receive):
    shirt, cap, hat = make_product("SHIRT"), make_product("CAP"), make_product("HAT")
    receive(store, shirt, 5)
    receive(store, cap, 2)
    receive(store, hat, 3)
    services.reservation_create(
        location=store, product=cap, quantity=2, owner_type="o", owner_id="1"
    )
    return FILE.format(store=store.code, dc=dc.code)


def results(job: Job) -> list[tuple[int, str, str]]:
    return [
        (row.line, row.status, row.reason or row.result)
        for row in job.rows.order_by("line")
    ]


EXPECTED = [
    (1, "succeeded", "{verb} on_hand 5 → 8 (+3)."),
    (2, "succeeded", "Unchanged at 3."),
    (3, "succeeded", "{verb} on_hand 0 → 40 (+40)."),
    (4, "failed", "Unknown location 'NOWHERE'."),
    (5, "failed", "Unknown SKU 'NOPE'."),
    (6, "skipped", "Duplicate of line 1."),  # the first row of a level counts
    (7, "failed", "2 units are reserved; on_hand cannot be set to 1."),
    (8, "failed", "Quantity '2.5' is not a whole number of zero or more."),
]


def test_a_sync_job_applies_each_row_by_the_sync_rules(stock, store, dc, sync_job):
    job = sync_job(stock)

    assert job.status == "partly_failed"
    assert (job.rows_succeeded, job.rows_failed, job.rows_skipped) == (3, 4, 1)
    assert results(job) == [
        (line, status, text.format(verb="Set")) for line, status, text in EXPECTED
    ]
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
    assert sorted(adjustments.values_list("reference", "quantity")) == [
        (f"job:{job.pk}:1", 3),
        (f"job:{job.pk}:3", 40),
    ]
    assert selectors.stock_ledger_mismatches() == []


def test_a_dry_run_of_a_sync_reports_the_same_and_writes_no_stock(stock, sync_job):
    ledger = InventoryTransaction.objects.count()
    levels = list(StockLevel.objects.values_list("id", "on_hand", "reserved"))

    job = sync_job(stock, dry_run=True)

    assert results(job) == [
        (line, status, text.format(verb="Would set")) for line, status, text in EXPECTED
    ]
    assert InventoryTransaction.objects.count() == ledger
    assert list(StockLevel.objects.values_list("id", "on_hand", "reserved")) == levels
