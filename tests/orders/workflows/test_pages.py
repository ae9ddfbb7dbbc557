"""The workflow pages: the chart in lifecycle order, adding and editing steps,
copying an order type, and the retry button on the order page."""

import pytest

from orders.workflows.models import (
    OrderTypeDefinition,
    WorkflowStep,
    WorkflowStepGroup,
    WorkflowStepRun,
)
from tests.orders.workflows.conftest import FAILING

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, make_user):
    client.force_login(make_user("admin"))
    return client


def test_the_chart_shows_stages_in_lifecycle_order_with_their_steps(admin_client):
    page = admin_client.get("/backoffice/workflows/standard/").content.decode()

    positions = [
        page.index(f'id="stage-{stage}"')
        for stage in ("created", "opened", "in_fulfillment", "shipped", "completed")
    ]
    assert positions == sorted(positions)
    shipped = page[page.index('id="stage-shipped"') :]
    assert "Shipping notice" in shipped and "Export to the ERP" in shipped
    assert "ready_for_pickup" not in page.split('id="add-step"')[0]


def test_a_csr_may_not_open_the_workflow_pages(client, make_user):
    client.force_login(make_user("csr"))

    assert client.get("/backoffice/workflows/").status_code == 403
    assert client.get("/backoffice/workflows/standard/").status_code == 403


def step_form(**overrides):
    form = {
        "stage": "opened", "name": "Tag", "action": "add_tags",
        "params": '{"tags": ["vip"]}', "timing": "sync", "condition": "always",
        "active": "on",
    }  # fmt: skip
    form.update(overrides)
    return form


def test_an_admin_adds_a_step_on_the_chart(admin_client):
    response = admin_client.post(
        "/backoffice/workflows/standard/",
        step_form(enabled_channels="web, app", disabled_tags="test"),
    )

    assert response.status_code == 302
    step = WorkflowStep.objects.get(name="Tag")
    assert step.stage == "opened" and step.params == {"tags": ["vip"]}
    assert step.enabled_for == {"channels": ["web", "app"]}
    assert step.disabled_for == {"tags": ["test"]}


def test_bad_parameters_are_shown_on_the_form_and_nothing_is_saved(admin_client):
    before = WorkflowStep.objects.count()

    bad_json = admin_client.post(
        "/backoffice/workflows/standard/", step_form(params="{")
    )
    bad_value = admin_client.post(
        "/backoffice/workflows/standard/",
        step_form(action="notify_customer", params='{"notification": "poem"}'),
    )

    unstorable = admin_client.post(
        "/backoffice/workflows/standard/",
        step_form(action="notify_customer", params='{"notification": "\\ud800"}'),
    )

    assert "Not valid JSON" in bad_json.content.decode()
    assert "is not a valid choice" in bad_value.content.decode()
    assert "cannot be stored" in unstorable.content.decode()
    assert WorkflowStep.objects.count() == before


def test_an_admin_edits_and_removes_a_step(admin_client):
    step = WorkflowStep.objects.get(order_type__code="standard", stage="created")

    admin_client.post(
        f"/backoffice/workflows/steps/{step.pk}/",
        step_form(
            stage="cancelled", name="Confirmation", action="notify_customer",
            params='{"notification": "order_confirmation"}', timing="async",
        ),
    )  # fmt: skip
    step.refresh_from_db()
    assert (step.name, step.stage, step.timing) == ("Confirmation", "created", "async")

    admin_client.post(f"/backoffice/workflows/steps/{step.pk}/", {"delete": "1"})
    assert not WorkflowStep.objects.filter(pk=step.pk).exists()


def test_an_order_type_is_copied_as_a_template(admin_client):
    response = admin_client.post(
        "/backoffice/workflows/copy/",
        {"copy_from": "bopis", "code": "curbside", "name": "Curbside pickup"},
    )

    assert response.status_code == 302
    curbside = OrderTypeDefinition.objects.get(code="curbside")
    assert curbside.flow == "bopis"
    assert (
        curbside.steps.count()
        == OrderTypeDefinition.objects.get(code="bopis").steps.count()
    )


def test_a_failed_step_has_a_retry_button_on_the_order_page(
    without_seeded_steps, broken, add_step, place_order, client, make_user, settings
):
    settings.OMS_WORKFLOW_RETRY_BACKOFF_SECONDS = []
    add_step("created", *FAILING, name="Export", timing="async")
    order = place_order()
    client.force_login(make_user("csr"))

    page = client.get(f"/backoffice/orders/{order.number}/").content.decode()
    assert "Step “Export”: error" in page and "The ERP is down." in page
    assert "Retry step" in page

    broken["now"] = False
    run = WorkflowStepRun.objects.get(order=order)
    response = client.post(
        f"/backoffice/workflows/step-runs/{run.pk}/retry/", follow=True
    )

    assert "Step “Export” run again." in response.content.decode()
    run.refresh_from_db()
    assert run.result == "success"


def test_a_group_is_created_edited_and_given_steps_on_its_pages(admin_client):
    created = admin_client.post(
        "/backoffice/workflows/groups/",
        {"code": "vip-care", "name": "VIP care", "stop_on_error": "on"},
    )
    assert created.url == "/backoffice/workflows/groups/vip-care/"

    admin_client.post(
        "/backoffice/workflows/groups/vip-care/",
        {"name": "VIP treatment", "description": "For big spenders"},
    )
    admin_client.post(
        "/backoffice/workflows/groups/vip-care/steps/",
        step_form(name="Tag VIP", params='{"tags": ["vip"]}'),
    )

    group = WorkflowStepGroup.objects.get(code="vip-care")
    assert (group.name, group.stop_on_error) == ("VIP treatment", False)
    member = WorkflowStep.objects.get(group=group)
    assert (member.name, member.stage, member.params) == (
        "Tag VIP",
        "",
        {"tags": ["vip"]},
    )
    page = admin_client.get("/backoffice/workflows/groups/").content.decode()
    assert "VIP treatment" in page
    edit = admin_client.get(
        f"/backoffice/workflows/steps/{member.pk}/"
    ).content.decode()
    assert "Back to the group" in edit


def test_a_group_without_a_name_is_refused_on_the_page(admin_client):
    response = admin_client.post(
        "/backoffice/workflows/groups/", {"code": "nameless", "name": " "}
    )

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not WorkflowStepGroup.objects.exists()


def test_a_member_step_is_saved_and_its_page_leads_back_to_the_group(admin_client):
    group = WorkflowStepGroup.objects.create(code="care", name="Care")
    admin_client.post(
        "/backoffice/workflows/groups/care/steps/", step_form(name="Note")
    )
    member = WorkflowStep.objects.get(group=group)

    saved = admin_client.post(
        f"/backoffice/workflows/steps/{member.pk}/", step_form(name="Renamed")
    )

    assert saved.url == "/backoffice/workflows/groups/care/"
    member.refresh_from_db()
    assert member.name == "Renamed"
