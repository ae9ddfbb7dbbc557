"""The jobs API: create (JSON rows or a CSV upload), detail, rows, confirm,
cancel, role checks per kind."""

import io
import json

import pytest

from oms.models import Job
from orders.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def csr_api(api_client_for):
    return api_client_for("csr")


def test_a_csr_starts_a_dry_run_reads_its_rows_and_confirms_it(
    csr_api, opened_order, django_capture_on_commit_callbacks
):
    order = opened_order()

    with django_capture_on_commit_callbacks(execute=True):
        created = csr_api.post(
            "/api/v1/jobs",
            {
                "kind": "orders.cancel",
                "dry_run": True,
                "params": {"reason": "Fraud"},
                "rows": [{"number": order.number}, {"number": "NO-SUCH"}],
            },
            format="json",
        )
    assert created.status_code == 201, created.json()
    job_id = created.json()["id"]

    detail = csr_api.get(f"/api/v1/jobs/{job_id}").json()
    assert (detail["status"], detail["rows_done"], detail["progress_percent"]) == (
        "partly_failed",
        2,
        100,
    )
    failed = csr_api.get(f"/api/v1/jobs/{job_id}/rows?status=failed").json()
    assert [(r["line"], r["reason"]) for r in failed["results"]] == [
        (2, "No order NO-SUCH.")
    ]
    order.refresh_from_db()
    assert order.status == "opened"

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = csr_api.post(f"/api/v1/jobs/{job_id}/confirm")
    assert confirmed.status_code == 201
    assert confirmed.json()["preview_of"] == job_id
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert csr_api.post(f"/api/v1/jobs/{job_id}/confirm").status_code == 409


def test_a_csv_upload_becomes_the_job_rows(csr_api, opened_order):
    order = opened_order()
    upload = io.BytesIO(f"number\n{order.number}\n\nNO-SUCH\n".encode())
    upload.name = "orders.csv"

    response = csr_api.post(
        "/api/v1/jobs",
        {
            "kind": "orders.cancel",
            "dry_run": "true",
            "params.reason": "Fraud",
            "file": upload,
        },
        format="multipart",
    )

    assert response.status_code == 201, response.json()
    job = Job.objects.get()
    assert (job.source, job.params) == ("api upload orders.csv", {"reason": "Fraud"})
    assert [row.data["number"] for row in job.rows.all()] == [order.number, "NO-SUCH"]


def test_a_cancel_job_without_a_reason_is_refused(csr_api):
    response = csr_api.post(
        "/api/v1/jobs",
        {"kind": "orders.cancel", "rows": [{"number": "X"}]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"reason": ["Reason is required."]}
    assert not Job.objects.exists()


def test_roles_are_checked_per_job_kind(api_client_for, csr_api):
    inventory = api_client_for("inventory_manager")
    body = {
        "kind": "orders.cancel",
        "params": {"reason": "x"},
        "rows": [{"number": "X"}],
    }

    refused = inventory.post("/api/v1/jobs", body, format="json")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Your role may not run cancel orders."

    csr_job = csr_api.post("/api/v1/jobs", body, format="json").json()["id"]
    assert inventory.get(f"/api/v1/jobs/{csr_job}").status_code == 404
    assert inventory.get("/api/v1/jobs").json()["results"] == []
    associate = api_client_for("store_associate")
    assert associate.get("/api/v1/jobs").json()["results"] == []
    assert api_client_for("integration").get("/api/v1/jobs").status_code == 403


def test_bad_input_is_a_400_and_writes_nothing(csr_api):
    unknown = csr_api.post(
        "/api/v1/jobs", {"kind": "nope", "rows": [{}]}, format="json"
    )
    empty = csr_api.post(
        "/api/v1/jobs",
        {"kind": "orders.release", "rows": []},
        format="json",
    )
    neither = csr_api.post("/api/v1/jobs", {"kind": "orders.release"}, format="json")

    assert unknown.status_code == 404
    assert empty.status_code == 400
    assert empty.json()["errors"] == {"rows": ["Give at least one row."]}
    assert neither.status_code == 400
    assert not Job.objects.exists()
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "orders.cancel", "params": {"reason": "x", "\ud800": "y"}},
        {"kind": "orders.cancel", "params": {"reason": "x"}, "rows": [{"\x00": "1"}]},
        {"kind": "orders.cancel", "params": {"reason": "x"}, "rows": [{"n": "\udfff"}]},
    ],
)
def test_text_that_cannot_be_stored_is_a_400_and_writes_nothing(csr_api, body):
    """A null character or a lone surrogate (JSON carries both; PostgreSQL and
    UTF-8 refuse them) in a key or value of the params or of a row."""
    body.setdefault("rows", [{"number": "OMS-1"}])

    response = csr_api.post(
        "/api/v1/jobs", json.dumps(body), content_type="application/json"
    )

    assert response.status_code == 400
    assert set(response.json()["errors"]) <= {"params", "rows"}
    assert not Job.objects.exists()
