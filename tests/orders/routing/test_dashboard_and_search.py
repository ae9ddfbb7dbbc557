"""The back-office at scale, read as staff would: keyset pages of the orders list,
filters, the global search box, the dashboard's counters (each a link to a list
showing as many rows) and its charts' JSON."""

import re
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from inventory import services as inventory_services
from oms.backoffice.dashboard import forget_cached
from orders import services as order_services
from orders.intake import LineInput
from orders.models import Order
from orders.routing import services
from orders.routing.models import FulfillmentRequest, QueueSnapshot
from orders.routing.selectors import _percentile
from orders.routing.tasks import record_queue_sizes_task

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def rows_on(response) -> int:
    """How many rows the list page shows (all of them: a single page)."""
    name = "page" if "page" in response.context else "returns"
    page = response.context[name]
    assert page.next_url is None
    return len(page.items)


@pytest.fixture
def split_requests(london_order, places, products, put_stock, run_brokering):
    """One order split in two assigned requests: SKU-A at the near store, SKU-B at
    the far one (each carries only one of them)."""
    put_stock(places["near"], products["SKU-A"], 5)
    put_stock(places["far"], products["SKU-B"], 5)
    order = london_order()
    run_brokering()
    return order, {r.location.code: r for r in FulfillmentRequest.objects.all()}


def test_the_orders_list_pages_through_every_order_once_newest_first(
    make_user, place_order, monkeypatch
):
    monkeypatch.setattr("orders.views.PAGE_SIZE", 2)
    numbers = [place_order().number for _ in range(5)][::-1]
    client = logged_in(make_user("csr"))

    seen, url = [], reverse("orders:order-list")
    while url:
        response = client.get(url)
        page = response.context["page"]
        seen.append([order.number for order in page])
        url = page.next_url and reverse("orders:order-list") + page.next_url

    assert seen == [numbers[0:2], numbers[2:4], numbers[4:5]]
    assert "Page 1 of" not in response.content.decode()
    assert 'rel="prev"' in response.content.decode()


def test_a_date_range_takes_whole_days(make_user, place_order):
    late, next_day = place_order(), place_order()
    Order.objects.filter(pk=late.pk).update(
        placed_at=timezone.make_aware(datetime(2026, 3, 9, 23, 50))
    )
    Order.objects.filter(pk=next_day.pk).update(
        placed_at=timezone.make_aware(datetime(2026, 3, 10, 0, 10))
    )
    client = logged_in(make_user("csr"))

    page = client.get(
        reverse("orders:order-list"),
        {"placed_from": "2026-03-09", "placed_to": "2026-03-09"},
    ).context["page"]

    assert [order.number for order in page] == [late.number]


def test_a_date_range_pages_newest_placed_first(make_user, place_order, monkeypatch):
    monkeypatch.setattr("orders.views.PAGE_SIZE", 1)
    first, second, third = place_order(), place_order(), place_order()
    same_time = timezone.make_aware(datetime(2026, 3, 9, 12, 0))
    Order.objects.filter(pk__in=[first.pk, third.pk]).update(placed_at=same_time)
    Order.objects.filter(pk=second.pk).update(placed_at=same_time + timedelta(hours=1))
    client = logged_in(make_user("csr"))

    seen, url = [], reverse("orders:order-list") + "?placed_from=2026-03-09"
    while url:
        page = client.get(url).context["page"]
        seen.extend(order.number for order in page)
        url = page.next_url and reverse("orders:order-list") + page.next_url

    assert seen == [second.number, third.number, first.number]


def test_the_list_search_ignores_case_of_numbers_and_emails(make_user, place_order):
    grace = place_order(customer_email="Grace@Example.com", external_id="EXT-G")
    other = place_order(customer_email="ada@example.com")
    client = logged_in(make_user("csr"))

    def found(query):
        page = client.get(reverse("orders:order-list"), {"q": query}).context["page"]
        return [order.number for order in page]

    assert found(grace.number.lower()) == [grace.number]
    assert found("GRACE@example.COM") == [grace.number]
    assert found("EXT-G") == [grace.number]
    assert found("SKU-B") == [other.number, grace.number]
    assert found("SKU-B") == found("SKU-A")
    assert found("nothing-like-this") == []


def test_global_search_jumps_to_the_one_order_it_finds(make_user, place_order):
    order = place_order(external_id="SHOP-1001")
    client = logged_in(make_user("csr"))

    for query in (order.number, "SHOP-1001", order.number.lower()):
        response = client.get(reverse("backoffice:search"), {"q": query})
        assert response.status_code == 302
        assert response.url == reverse("orders:order-detail", args=[order.number])


def test_global_search_lists_several_hits_and_says_when_nothing_is_found(
    make_user, place_order
):
    first = place_order(customer_email="repeat@example.com")
    second = place_order(customer_email="repeat@example.com")
    client = logged_in(make_user("csr"))

    several = client.get(reverse("backoffice:search"), {"q": "REPEAT@example.com"})
    nothing = client.get(reverse("backoffice:search"), {"q": "no-such-thing"})
    by_sku = client.get(reverse("backoffice:search"), {"q": "SKU-A"})

    assert several.status_code == 200
    assert [hit["label"] for hit in several.context["hits"]] == [
        second.number,
        first.number,
    ]
    assert "Nothing found for “no-such-thing”" in nothing.content.decode()
    assert [hit["kind"] for hit in by_sku.context["hits"]] == ["SKU", "Product"]
    assert by_sku.context["hits"][0]["url"].endswith("?q=SKU-A")


def test_global_search_finds_a_shipment_by_tracking_number_for_its_store_only(
    make_user, split_requests
):
    _, requests = split_requests
    near = requests["CAMDEN"]
    services.fulfillment_request_accept(request=near, actor=None)
    services.fulfillment_request_pack(request=near, actor=None)
    services.fulfillment_request_ship(
        request=near, actor=None, carrier="DHL", tracking_number="JD0001"
    )
    at_near, at_far = make_user("store_associate"), make_user("store_associate")
    inventory_services.location_assign_staff(user=at_near, location=near.location)
    inventory_services.location_assign_staff(
        user=at_far, location=requests["CROYDON"].location
    )

    found = logged_in(at_near).get(reverse("backoffice:search"), {"q": "JD0001"})
    hidden = logged_in(at_far).get(reverse("backoffice:search"), {"q": "JD0001"})

    assert found.status_code == 302
    assert found.url == reverse("fulfillment:request-detail", args=[near.pk])
    assert hidden.status_code == 200
    assert hidden.context["hits"] == []


def _counters(client) -> dict[str, dict]:
    response = client.get(reverse("backoffice:dashboard"))
    return {c["label"]: c for c in response.context["counters"]["items"]}


def test_every_dashboard_counter_links_to_a_list_of_as_many_rows(
    make_user, channel, split_requests, opened_order, place_order
):
    channel.order_value_limit = Decimal("1.00")
    channel.save()
    held = opened_order()  # over the channel's value limit: on hold
    unfillable = opened_order(
        lines=[LineInput(sku="SKU-C", quantity=1, unit_price=Decimal("5.00"))]
    )
    order_services.order_approve(order=held, actor=None, comment="checked")
    order_services.order_approve(order=unfillable, actor=None, comment="checked")
    opened_order()  # held again, stays on hold
    services.brokering_run_execute(
        run_id=services.brokering_run_start(
            rule_set=services.RoutingRuleSet.objects.get(name="Default"),
            enqueue=False,
        ).pk
    )
    admin = logged_in(make_user("admin"))

    counters = _counters(admin)

    unfillable_queue = next(c for c in counters if c.startswith("Queue Unfillable "))
    assert counters["Orders on hold"]["count"] == 1
    assert counters[unfillable_queue]["count"] == 1
    assert counters["Requests waiting to be accepted"]["count"] >= 2
    for counter in counters.values():
        assert rows_on(admin.get(counter["url"])) == counter["count"], counter


def test_a_store_associate_counts_only_their_locations(make_user, split_requests):
    _, requests = split_requests
    associate = make_user("store_associate")
    inventory_services.location_assign_staff(
        user=associate, location=requests["CAMDEN"].location
    )
    client = logged_in(associate)

    mine = _counters(client)["Requests waiting to be accepted"]
    everyone = _counters(logged_in(make_user("admin")))

    assert mine["count"] == 1
    assert rows_on(client.get(mine["url"])) == 1
    assert everyone["Requests waiting to be accepted"]["count"] == 2
    assert "Orders on hold" not in _counters(client)


def test_the_dashboard_says_how_old_its_counters_are_and_keeps_them_briefly(
    make_user, opened_order, channel, settings
):
    settings.OMS_DASHBOARD_COUNTERS_TTL = 30
    channel.order_value_limit = Decimal("1.00")
    channel.save()
    user = make_user("csr")
    client = logged_in(user)
    try:
        before = _counters(client)["Orders on hold"]["count"]
        opened_order()
        page = client.get(reverse("backoffice:dashboard")).content.decode()
        cached = _counters(client)["Orders on hold"]["count"]
        forget_cached(user)
        fresh = _counters(client)["Orders on hold"]["count"]
    finally:
        forget_cached(user)

    assert (before, cached, fresh) == (0, 0, 1)
    assert re.search(r"As of \d\d:\d\d:\d\d · updated every 30 s", page)


def _charts(client) -> dict[str, dict]:
    data = client.get(reverse("backoffice:dashboard-charts")).json()
    assert set(data) == {"as_of", "ttl_seconds", "charts"}
    for chart in data["charts"]:
        assert set(chart) == {"id", "title", "kind", "unit", "x", "series"}
        for series in chart["series"]:
            assert len(series["values"]) == len(chart["x"])
    return {chart["id"]: chart for chart in data["charts"]}


def test_charts_count_orders_per_day_by_status_and_channel(make_user, place_order):
    yesterday = timezone.now() - timedelta(days=1)
    for _ in range(3):
        place_order()
    old = place_order()
    Order.objects.filter(pk=old.pk).update(placed_at=yesterday)

    charts = _charts(logged_in(make_user("csr")))

    by_status = charts["orders-by-status"]
    assert by_status["x"][-1] == timezone.localdate().isoformat()
    assert len(by_status["x"]) == 14
    created = next(s for s in by_status["series"] if s["name"] == "Created")
    assert created["values"][-2:] == [1, 3]
    assert sum(created["values"]) == 4
    (web,) = charts["orders-by-channel"]["series"]
    assert (web["name"], web["values"][-2:]) == ("web", [1, 3])


def test_charts_give_lead_time_runs_and_queue_sizes(make_user, split_requests):
    order, requests = split_requests
    Order.objects.filter(pk=order.pk).update(
        placed_at=timezone.now() - timedelta(hours=10)
    )
    for request in requests.values():
        services.fulfillment_request_accept(request=request, actor=None)
        services.fulfillment_request_pack(request=request, actor=None)
        services.fulfillment_request_ship(
            request=request, actor=None, carrier="DHL", tracking_number=request.number
        )
    record_queue_sizes_task()
    associate = make_user("store_associate")
    inventory_services.location_assign_staff(
        user=associate, location=requests["CAMDEN"].location
    )

    charts = _charts(logged_in(make_user("csr")))
    scoped = _charts(logged_in(associate))

    lead = charts["lead-time"]
    assert lead["x"] == ["CAMDEN", "CROYDON"]
    for series in lead["series"]:
        assert series["values"] == [pytest.approx(10.0, abs=0.1)] * 2
    assert scoped["lead-time"]["x"] == ["CAMDEN"]
    assert set(scoped) == {"lead-time"}
    runs = charts["brokering-runs"]
    routed = next(s for s in runs["series"] if s["name"] == "routed")
    assert routed["values"] == [1]
    queues = {s["name"]: s["values"] for s in charts["queue-sizes"]["series"]}
    assert len(charts["queue-sizes"]["x"]) == 1
    assert queues["Brokering"] == [0]


def test_queue_sizes_are_recorded_once_a_minute_and_old_ones_forgotten(db):
    now = timezone.now().replace(second=30)
    services.queue_snapshot_record(
        sizes={"unfillable": 4}, now=now - timedelta(days=40)
    )
    services.queue_snapshot_record(sizes={"unfillable": 5}, now=now)
    services.queue_snapshot_record(
        sizes={"unfillable": 9}, now=now + timedelta(seconds=5)
    )

    assert list(QueueSnapshot.objects.values_list("queue", "size")) == [
        ("unfillable", 5)
    ]


def test_percentiles_in_python_match_postgresqls_percentile_cont():
    assert _percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert _percentile([1.0, 2.0, 3.0, 4.0], 0.9) == pytest.approx(3.7)
    assert _percentile([7.0], 0.9) == 7.0
