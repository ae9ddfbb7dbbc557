"""The workflow API: admins configure, customer service reads and retries; bad
input is a 400 with field errors and writes nothing."""

import json

import pytest
from django.core import mail

from orders.workflows.models import OrderTypeDefinition, WorkflowStep, WorkflowStepRun
from tests.orders.workflows.conftest import FAILING

pytestmark = pytest.mark.django_db


def test_order_types_are_listed_with_the_seeded_ones(api_client_for):
    response = api_client_for("csr").get("/api/v1/order-types")

    assert response.status_code == 200
    codes = [item["code"] for item in response.json()]
    assert codes == [
        "backorder",
        "bopis",
        "pos",
        "pre_order",
        "replacement",
        "standard",
    ]


def test_an_admin_copies_an_order_type_with_its_steps(admin_api):
    response = admin_api.post(
        "/api/v1/order-types",
        {"code": "gift", "name": "Gift", "copy_from": "standard"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["flow"] == "standard"
    copied = WorkflowStep.objects.filter(order_type__code="gift")
    original = WorkflowStep.objects.filter(order_type__code="standard")
    assert sorted(copied.values_list("stage", "name")) == sorted(
        original.values_list("stage", "name")
    )


def test_a_csr_may_read_but_not_configure(api_client_for):
    csr = api_client_for("csr")

    assert csr.get("/api/v1/workflow-steps?order_type=standard").status_code == 200
    response = csr.post(
        "/api/v1/order-types", {"code": "x", "name": "X", "flow": "standard"}
    )
    assert response.status_code == 403
    assert api_client_for("integration").get("/api/v1/order-types").status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"stage": "opened", "name": "A", "action": "teleport"}, "action"),
        ({"stage": "limbo", "name": "A", "action": "record_note"}, "stage"),
        (
            {"stage": "opened", "name": "A", "action": "notify_customer",
             "params": {"notification": "poem"}},
            "params.notification",
        ),
        (
            {"stage": "opened", "name": "A", "action": "set_field",
             "params": {"field": "total", "value": 0}},
            "params.field",
        ),
        (
            {"stage": "opened", "name": "A", "action": "set_field",
             "params": {"field": "priority", "value": 42}},
            "params.value",
        ),
        (
            {"stage": "opened", "name": "A", "action": "add_tags",
             "params": {"tags": ["x"]}, "enabled_for": {"planets": ["mars"]}},
            "enabled_for",
        ),
        (
            {"stage": "opened", "name": "A", "action": "add_tags",
             "params": {"tags": ["x"]}, "timing": "whenever"},
            "timing",
        ),
        ({"stage": "opened", "name": "A", "action": "run_group"}, "runs_group"),
        (
            {"stage": "opened", "name": "A", "action": "add_tags",
             "params": {"tags": ["x"]}, "enabled_for": {"shipping_methods": ["a\x00"]}},
            "enabled_for",
        ),
        (
            {"stage": "opened", "name": "A", "action": "add_tags",
             "params": {"tags": ["x"], "\ud800": 1}},
            "params",
        ),
    ],
)  # fmt: skip
def test_an_invalid_step_is_a_400_naming_the_field(admin_api, body, field):
    before = WorkflowStep.objects.count()

    response = admin_api.post(
        "/api/v1/workflow-steps",
        json.dumps({"order_type": "standard", **body}),
        content_type="application/json",
    )

    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert WorkflowStep.objects.count() == before


def test_an_admin_adds_edits_and_removes_a_step(admin_api, place_order):
    response = admin_api.post(
        "/api/v1/workflow-steps",
        {
            "order_type": "standard", "stage": "created", "name": "Tag VIPs",
            "action": "add_tags", "params": {"tags": ["vip"]}, "timing": "sync",
            "enabled_for": {"shipping_methods": ["express"]},
        },
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    step_id = response.json()["id"]

    express = place_order(shipping_method="express")
    express.refresh_from_db()
    assert express.tags == ["vip"]

    response = admin_api.patch(
        f"/api/v1/workflow-steps/{step_id}", {"active": False}, format="json"
    )
    assert response.status_code == 200 and response.json()["active"] is False
    later = place_order(shipping_method="express")
    later.refresh_from_db()
    assert later.tags == []

    assert admin_api.delete(f"/api/v1/workflow-steps/{step_id}").status_code == 204
    assert not WorkflowStep.objects.filter(pk=step_id).exists()


def test_a_csr_retries_a_failed_step_by_api(
    without_seeded_steps, broken, add_step, place_order, api_client_for, settings
):
    settings.OMS_WORKFLOW_RETRY_BACKOFF_SECONDS = []
    add_step("created", *FAILING, timing="async")
    order = place_order()
    run = WorkflowStepRun.objects.get(order=order)
    csr = api_client_for("csr")

    listed = csr.get(f"/api/v1/workflow-runs?order={order.number}").json()["results"]
    assert [(r["result"], r["retryable"]) for r in listed] == [("error", True)]
    broken["now"] = False
    response = csr.post(f"/api/v1/workflow-runs/{run.pk}/retry")

    assert response.status_code == 200
    assert response.json()["result"] == "success"
    assert csr.post(f"/api/v1/workflow-runs/{run.pk}/retry").status_code == 409


def table_counts() -> dict[str, int]:
    from django.apps import apps

    return {
        model._meta.db_table: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy
    }


def test_a_dry_run_shows_the_plan_and_writes_nothing(admin_api, place_order):
    order = place_order()
    mail.outbox.clear()
    before = table_counts()

    response = admin_api.post(
        "/api/v1/workflow-steps/dry-run",
        {
            "orders": [order.number],
            "stage": "shipped",
            "steps": [
                {"name": "Hold big ones", "action": "put_on_hold",
                 "params": {"reason": "Review"}, "timing": "sync"},
                {"name": "Mail", "action": "notify_customer",
                 "params": {"notification": "shipping_notice"}},
                {"name": "Only app", "action": "add_tags", "params": {"tags": ["a"]},
                 "enabled_for": {"channels": ["app"]}},
                {"name": "If failed", "action": "record_note",
                 "params": {"text": "x"}, "condition": "any_error"},
            ],
        },
        format="json",
    )  # fmt: skip

    assert response.status_code == 200, response.json()
    plan = response.json()["orders"][0]
    assert plan["order"] == order.number and plan["stage"] == "shipped"
    assert [(s["name"], s["would_run"]) for s in plan["steps"]] == [
        ("Hold big ones", True),
        ("Mail", True),
        ("Only app", False),
        ("If failed", False),
    ]
    assert plan["steps"][1]["effect"] == (
        f"Would e-mail “Your order {order.number} is on its way” to ada@example.com."
    )
    assert plan["steps"][2]["reason"] == "Only for channels: app."
    assert table_counts() == before
    assert mail.outbox == []
    order.refresh_from_db()
    assert order.status == "created" and order.tags == []


def test_a_dry_run_of_the_saved_configuration_for_a_sample(admin_api, place_order):
    place_order()
    place_order()

    response = admin_api.post(
        "/api/v1/workflow-steps/dry-run",
        {"sample": 5, "order_type": "standard", "stage": "created"},
        format="json",
    )

    assert response.status_code == 200
    plans = response.json()["orders"]
    assert len(plans) == 2
    assert [s["name"] for s in plans[0]["steps"]] == ["Order confirmation"]


def test_a_dry_run_with_a_bad_draft_is_a_400(admin_api, place_order):
    order = place_order()

    response = admin_api.post(
        "/api/v1/workflow-steps/dry-run",
        {"orders": [order.number], "steps": [{"name": "x", "action": "nope"}]},
        format="json",
    )

    assert response.status_code == 400
    assert "action" in response.json()["errors"]
    assert OrderTypeDefinition.objects.count() == 6
