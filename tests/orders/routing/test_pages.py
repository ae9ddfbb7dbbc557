"""Routing and fulfillment pages: what a CSR, an admin and a store associate read
and do."""

import io

import pytest
from django.urls import reverse

from inventory import services as inventory_services
from orders.routing.models import BrokeringRun, FulfillmentRequest, RoutingRuleSet

pytestmark = pytest.mark.django_db


@pytest.fixture
def stocked(places, products, put_stock):
    for sku in ("SKU-A", "SKU-B"):
        put_stock(places["near"], products[sku], 5)
        put_stock(places["far"], products[sku], 5)


def logged_in(client, user):
    client.force_login(user)
    return client


def test_order_page_shows_where_it_went_and_why(
    client, make_user, london_order, stocked, run_brokering
):
    order = london_order()
    run_brokering()

    page = logged_in(client, make_user("csr")).get(
        reverse("orders:order-detail", args=[order.number])
    )

    text = page.content.decode()
    assert page.status_code == 200
    assert "Why CAMDEN" in text
    assert "ranked lower by the sort criteria" in text  # CROYDON, passed over


def test_store_associate_sees_only_their_requests_and_others_are_404(
    client, make_user, london_order, stocked, places, run_brokering
):
    london_order()
    run_brokering()
    request = FulfillmentRequest.objects.get()
    elsewhere = make_user("store_associate")
    inventory_services.location_assign_staff(user=elsewhere, location=places["far"])

    logged_in(client, elsewhere)
    assert (
        request.number
        not in client.get(reverse("fulfillment:request-list")).content.decode()
    )
    assert (
        client.get(reverse("fulfillment:request-detail", args=[request.pk])).status_code
        == 404
    )
    assert (
        client.post(
            reverse("fulfillment:request-action", args=[request.pk, "accept"])
        ).status_code
        == 404
    )
    request.refresh_from_db()
    assert request.status == "assigned"


def test_queue_page_holds_selected_orders_and_csv_reports_unknown_numbers(
    client, make_user, london_order, run_brokering
):
    first, second = london_order(), london_order()
    run_brokering()  # no stock: both unfillable
    logged_in(client, make_user("csr"))

    response = client.post(
        reverse("fulfillment:queue-move"),
        {
            "action": "hold",
            "orders": [first.number],
            "back": "/backoffice/fulfillment/queues/",
        },
        follow=True,
    )
    assert "1 order(s) put on unfillable hold" in response.content.decode()

    upload = io.BytesIO(f"number\n{second.number}\nNOPE-9\n".encode())
    upload.name = "orders.csv"
    response = client.post(
        reverse("fulfillment:queue-move"),
        {"file": upload, "action": "hold"},
        follow=True,
    )
    text = response.content.decode()
    assert "Unknown order numbers: NOPE-9" in text
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.queue, second.queue) == ("unfillable_hold", "unfillable_hold")


def test_admin_edits_a_rule_set_frequency_on_the_page(client, make_user, default_rules):
    logged_in(client, make_user("admin"))
    url = reverse("fulfillment:rule-set-edit", args=[default_rules.pk])
    assert "Run every" in client.get(url).content.decode()

    response = client.post(
        url,
        {
            "name": "Default",
            "queues": ["brokering", "rejected"],
            "require_can_ship": "on",
            "exclude_rejecting_locations": "on",
            "split_policy": "never",
            "rank_distance": "1",
            "rank_priority": "2",
            "run_every_minutes": "30",
            "active": "on",
        },
    )

    assert response.status_code == 302
    default_rules.refresh_from_db()
    assert default_rules.sort_criteria == ["distance", "priority"]
    assert default_rules.periodic_task.interval.every == 30


def test_runs_page_starts_a_run_and_serves_its_progress(
    client,
    make_user,
    london_order,
    stocked,
    default_rules,
    django_capture_on_commit_callbacks,
):
    london_order()
    logged_in(client, make_user("csr"))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("fulfillment:run-start"), {"rule_set": default_rules.pk})
    run = BrokeringRun.objects.get()

    progress = client.get(reverse("fulfillment:run-progress", args=[run.pk])).json()

    assert (progress["status"], progress["orders_routed"]) == ("completed", 1)
    assert (
        "Brokering runs" in client.get(reverse("fulfillment:run-list")).content.decode()
    )


def test_simulation_page_compares_draft_with_live(
    client, make_user, london_order, stocked, default_rules
):
    london_order()
    logged_in(client, make_user("csr"))
    assert client.get(reverse("fulfillment:simulate")).status_code == 200

    response = client.post(
        reverse("fulfillment:simulate"),
        {
            "queues": ["brokering"],
            "location_types": ["dc"],
            "split_policy": "when_needed",
            "rank_distance": "1",
            "require_can_ship": "on",
        },
    )

    text = response.content.decode()
    assert "1 order(s) would go elsewhere" in text
    assert not FulfillmentRequest.objects.exists()
    assert RoutingRuleSet.objects.count() == 1


def test_the_pages_a_csr_and_a_store_associate_open(
    client, make_user, london_order, stocked, places, run_brokering
):
    order = london_order()
    run_brokering()
    request = FulfillmentRequest.objects.get(order=order)
    associate = make_user("store_associate")
    inventory_services.location_assign_staff(user=associate, location=places["near"])

    logged_in(client, associate)
    detail = client.get(reverse("fulfillment:request-detail", args=[request.pk]))
    assert "Units of SKU-A to reject" in detail.content.decode()
    assert (
        request.number
        in client.get(reverse("fulfillment:request-list")).content.decode()
    )
    dashboard = client.get("/backoffice/").content.decode()
    assert "Requests waiting to be accepted" in dashboard

    logged_in(client, make_user("csr"))
    assert (
        "Unfillable (hold)"
        in client.get(reverse("fulfillment:queues")).content.decode()
    )
    assert (
        client.get(reverse("fulfillment:queue-detail", args=["unfillable"])).status_code
        == 200
    )
    assert (
        client.get(reverse("fulfillment:queue-detail", args=["nope"])).status_code
        == 404
    )
    assert "Queue Brokering" in client.get("/backoffice/").content.decode()


@pytest.mark.parametrize("rule_set", ["abc", "²", "9" * 40, "", "999999"])
def test_starting_a_run_without_a_known_rule_set_says_choose_one(
    client, make_user, default_rules, rule_set
):
    logged_in(client, make_user("csr"))

    response = client.post(
        reverse("fulfillment:run-start"), {"rule_set": rule_set}, follow=True
    )

    assert response.status_code == 200
    assert "Choose a rule set." in response.content.decode()
    assert not BrokeringRun.objects.exists()


@pytest.mark.parametrize("units", ["²", "9" * 40, "abc"])
def test_rejecting_with_units_that_are_no_number_asks_for_the_items(
    client, make_user, london_order, stocked, places, run_brokering, units
):
    london_order()
    run_brokering()
    request = FulfillmentRequest.objects.get()
    associate = make_user("store_associate")
    inventory_services.location_assign_staff(user=associate, location=request.location)
    line = request.lines.first()

    response = logged_in(client, associate).post(
        reverse("fulfillment:request-action", args=[request.pk, "reject"]),
        {f"reject-{line.order_line_id}": units, "reason": "Damaged"},
        follow=True,
    )

    assert response.status_code == 200
    assert "Choose the items to reject." in response.content.decode()
    request.refresh_from_db()
    assert request.status != "rejected"
