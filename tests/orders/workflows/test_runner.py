"""Entering a stage runs its steps: order, stop-on-error, conditions, scope
filters and groups, for steps that run inside the transition."""

import pytest

from oms.models import Event
from orders import services as order_services
from orders.models import Order
from orders.workflows import services
from orders.workflows.models import WorkflowStepRun
from orders.workflows.runner import WorkflowStepFailed
from tests.orders.workflows.conftest import FAILING

pytestmark = pytest.mark.django_db(transaction=False)


def runs_of(order):
    return list(
        WorkflowStepRun.objects.filter(order=order).values_list("step_name", "result")
    )


def test_steps_run_in_position_order(
    without_seeded_steps, broken, add_step, place_order
):
    add_step("created", "record_note", {"text": "second"}, name="B", position=20)
    add_step("created", "record_note", {"text": "first"}, name="A", position=10)

    order = place_order()

    order.refresh_from_db()
    assert [line.split("] ")[1] for line in order.notes.splitlines()] == [
        "first",
        "second",
    ]
    assert runs_of(order) == [("A", "success"), ("B", "success")]


def test_a_failing_step_with_stop_on_error_rolls_the_transition_back(
    without_seeded_steps, broken, add_step, place_order, opened_order
):
    add_step("opened", "add_tags", {"tags": ["opened"]}, name="Tag")
    add_step("opened", *FAILING, name="Export", stop_on_error=True)
    add_step("opened", "record_note", {"text": "never"}, name="Note")

    with pytest.raises(WorkflowStepFailed) as failure:
        opened_order()

    assert "Export" in failure.value.message
    order = Order.objects.get()
    assert order.status == Order.Status.CREATED
    assert order.tags == [] and order.notes == ""
    assert not Event.objects.filter(name="order.opened").exists()
    assert runs_of(order) == [("Export", "error")]
    assert WorkflowStepRun.objects.get().message == (
        "The ERP is down. The transition was refused and rolled back."
    )


def test_a_failing_step_without_stop_on_error_lets_the_rest_run(
    without_seeded_steps, broken, add_step, place_order
):
    add_step("created", *FAILING, name="Export")
    add_step("created", "add_tags", {"tags": ["vip"]}, name="Tag")

    order = place_order()

    order.refresh_from_db()
    assert order.tags == ["vip"]
    assert runs_of(order) == [("Export", "error"), ("Tag", "success")]
    assert WorkflowStepRun.objects.first().message == "The ERP is down."


def test_conditions_look_at_the_earlier_results(
    without_seeded_steps, broken, add_step, place_order
):
    add_step("created", *FAILING, name="Export")
    add_step("created", "add_tags", {"tags": ["ok"]}, condition="all_succeeded")
    add_step("created", "add_tags", {"tags": ["check"]}, condition="any_error")
    add_step("created", "add_tags", {"tags": ["warned"]}, condition="any_warning")

    order = place_order()

    order.refresh_from_db()
    assert order.tags == ["check"]


def test_scope_filters_enable_and_disable_steps(
    without_seeded_steps, broken, add_step, place_order
):
    order_services.channel_create(code="app", name="App")
    add_step(
        "created", "add_tags", {"tags": ["web-only"]}, enabled_for={"channels": ["web"]}
    )
    add_step(
        "created",
        "add_tags",
        {"tags": ["not-express"]},
        disabled_for={"shipping_methods": ["express"]},
    )

    web = place_order()
    app_express = place_order(channel="app", shipping_method="express")

    web.refresh_from_db()
    app_express.refresh_from_db()
    assert web.tags == ["web-only", "not-express"]
    assert app_express.tags == []
    assert runs_of(app_express) == []


def test_a_group_runs_its_members_and_stops_on_their_error(
    without_seeded_steps, broken, add_step, place_order
):
    group = services.group_create(code="review", name="Review", stop_on_error=True)
    services.step_create(
        group=group,
        name="Export",
        action=FAILING[0],
        params=FAILING[1],
    )
    services.step_create(
        group=group, name="Tag", action="add_tags", params={"tags": ["grouped"]}
    )
    add_step("created", "run_group", {}, name="Run review", runs_group=group.pk)
    add_step("created", "record_note", {"text": "after the group"}, name="Note")

    order = place_order()

    order.refresh_from_db()
    assert order.tags == []
    assert order.notes.endswith("after the group")
    assert runs_of(order) == [
        ("Export", "error"),
        ("Run review", "error"),
        ("Note", "success"),
    ]


def test_put_on_hold_holds_the_order_and_runs_the_on_hold_steps(
    without_seeded_steps, broken, add_step, place_order, opened_order
):
    add_step("opened", "put_on_hold", {"reason": "Big order: review"}, name="Hold")
    add_step("opened", "add_tags", {"tags": ["never"]}, name="After hold")
    add_step("on_hold", "add_tags", {"tags": ["review"]}, name="Tag held")

    order = opened_order()

    assert order.status == Order.Status.ON_HOLD
    assert order.hold_reasons == ["Big order: review"]
    assert order.tags == ["review"]
    assert ("After hold", "success") not in runs_of(order)
    assert Event.objects.filter(name="order.held").exists()


def test_set_field_sets_an_allowed_field(
    without_seeded_steps, broken, add_step, place_order
):
    add_step("created", "set_field", {"field": "priority", "value": 7})

    order = place_order()

    order.refresh_from_db()
    assert order.priority == 7


def test_steps_of_another_order_type_do_not_run(
    without_seeded_steps, broken, add_step, place_order
):
    services.order_type_create(code="gift", name="Gift", flow="standard")
    from orders.workflows.models import OrderTypeDefinition

    add_step(
        "created",
        "add_tags",
        {"tags": ["gift"]},
        order_type=OrderTypeDefinition.objects.get(code="gift"),
    )

    order = place_order()

    order.refresh_from_db()
    assert order.tags == []


def test_a_refused_cancellation_is_a_409_and_the_timeline_says_why(
    broken, add_step, opened_order, api_client_for, client, make_user
):
    add_step("cancelled", *FAILING, name="Tell the warehouse", stop_on_error=True)
    order = opened_order()

    response = api_client_for("csr").post(
        f"/api/v1/orders/{order.number}/cancel",
        {"reason": "Customer asked"},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["type"] == "workflow_step_failed"
    order.refresh_from_db()
    assert order.status == "opened"
    client.force_login(make_user("csr"))
    page = client.get(f"/backoffice/orders/{order.number}/").content.decode()
    assert "Step “Tell the warehouse”: error" in page
    assert "The ERP is down. The transition was refused and rolled back." in page
