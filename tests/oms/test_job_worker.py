"""A background job through a real Celery worker process on Redis, killed with
SIGKILL in the middle of the job and started again: the beat sweep re-enqueues the
job and every row is applied exactly once."""

import pytest
from django.test import Client

from inventory import services as inventory_services
from inventory.models import InventoryTransaction, Location, StockLevel
from oms.models import Job
from oms.roles import Role
from oms.services import jobs
from oms.tasks import resume_stale_jobs
from tests.integration_support import (
    WorkerProcess,
    needs_services,
    purge_queue,
    wait_until,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    needs_services,
]

ROWS = 500


def progress(client: Client, job: Job) -> dict:
    return client.get(f"/backoffice/jobs/{job.pk}/progress.json").json()


def test_a_job_killed_mid_way_resumes_and_applies_every_row_once(make_user):
    purge_queue()
    manager = make_user(Role.INVENTORY_MANAGER)
    page = Client()
    page.force_login(manager)
    store = inventory_services.location_create(
        code="STORE-1", name="Store", type=Location.Type.STORE
    )
    skus = [f"SKU-{n:05d}" for n in range(ROWS)]
    for sku in skus:
        inventory_services.product_create(sku=sku, name=sku)
    # Each row sets a different quantity: line n → n + 1 units.
    job = jobs.job_create(
        kind="inventory.stock_sync",
        rows=[
            {"location": store.code, "sku": sku, "quantity": str(n + 1)}
            for n, sku in enumerate(skus)
        ],
        actor=manager,
        source="worker test",
    )
    assert progress(page, job)["status"] == "pending"

    worker = WorkerProcess(OMS_JOB_STALE_SECONDS="1", OMS_JOB_CHUNK_ROWS="50").start()
    try:
        wait_until(
            lambda: progress(page, job)["rows_done"] >= 50,
            timeout=120,
            message=lambda: progress(page, job),
        )
        worker.kill()  # SIGKILL mid-job: no clean shutdown, the message stays unacked
        stopped = progress(page, job)
        assert stopped["status"] == "running"
        assert 50 <= stopped["rows_done"] < ROWS, "the job ended before the kill"
        assert 0 < stopped["progress_percent"] < 100

        worker = WorkerProcess(
            OMS_JOB_STALE_SECONDS="1", OMS_JOB_CHUNK_ROWS="50"
        ).start()

        def finished():
            resume_stale_jobs.delay()  # what beat does every 30 s
            return progress(page, job)["finished"]

        wait_until(
            finished, timeout=240, interval=1, message=lambda: progress(page, job)
        )
    finally:
        worker.stop()

    done = progress(page, job)
    assert {k: done[k] for k in ("status", "rows_done", "rows_succeeded")} == {
        "status": "succeeded",
        "rows_done": ROWS,
        "rows_succeeded": ROWS,
    }
    assert done["progress_percent"] == 100
    # Exactly once: one ledger row per job row, each changing stock from 0 (a row
    # applied twice would have a second, "unchanged" outcome and no 0 → n).
    references = list(
        InventoryTransaction.objects.filter(
            reference__startswith=f"job:{job.pk}:"
        ).values_list("reference", flat=True)
    )
    assert sorted(references) == sorted(f"job:{job.pk}:{n}" for n in range(1, ROWS + 1))
    results = list(job.rows.order_by("line").values_list("line", "result"))
    assert results == [
        (line, f"Set on_hand 0 → {line} (+{line}).") for line in range(1, ROWS + 1)
    ]
    on_hand = dict(
        StockLevel.objects.filter(location=store).values_list("product__sku", "on_hand")
    )
    assert on_hand == {sku: n + 1 for n, sku in enumerate(skus)}
