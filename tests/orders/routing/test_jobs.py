"""Queue moves and re-routing as background jobs, real and dry run."""

from decimal import Decimal

import pytest

from inventory.models import Reservation
from oms.models import Event, StateTransition
from oms.services import jobs
from orders.intake import LineInput
from orders.models import Order
from orders.routing import services
from orders.routing.models import FulfillmentRequest

pytestmark = pytest.mark.django_db

FREE_SHIPPING = {"shipping_price": Decimal("0"), "shipping_tax": Decimal("0")}


def one_line():
    return [LineInput(sku="SKU-A", quantity=1, unit_price=Decimal("10.00"))]


@pytest.fixture
def run_job(make_user, django_capture_on_commit_callbacks):
    csr = make_user("csr")

    def run(kind: str, numbers: list[str], **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            job = jobs.job_create(
                kind=kind, rows=[{"number": n} for n in numbers], actor=csr, **kwargs
            )
        job.refresh_from_db()
        return job

    return run


def results(job) -> list[tuple[str, str]]:
    return [(row.status, row.reason or row.result) for row in job.rows.order_by("line")]


@pytest.fixture
def unfillable(london_order, run_brokering):
    """Two orders with no stock anywhere: brokering parks them in unfillable."""
    orders = [london_order(lines=one_line(), **FREE_SHIPPING) for _ in range(2)]
    run_brokering()
    return orders


def test_hold_unhold_and_release_jobs_move_orders_between_queues(unfillable, run_job):
    first, second = unfillable

    held = run_job("orders.hold", [first.number, second.number], params={})
    first.refresh_from_db()
    assert first.queue == "unfillable_hold"
    assert results(held) == [
        ("succeeded", "Moved from Unfillable to Unfillable (hold)."),
        ("succeeded", "Moved from Unfillable to Unfillable (hold)."),
    ]

    unheld = run_job("orders.unhold", [first.number], params={"reason": "Stock due"})
    released = run_job("orders.release", [first.number, second.number], params={})

    assert results(unheld) == [
        ("succeeded", "Moved from Unfillable (hold) to Unfillable.")
    ]
    assert results(released) == [
        ("succeeded", "Moved from Unfillable to Brokering."),
        ("succeeded", "Moved from Unfillable (hold) to Brokering."),
    ]
    assert set(Order.objects.values_list("queue", flat=True)) == {"brokering"}
    assert Event.objects.filter(name="order.released").count() == 2


def test_a_queue_move_refused_for_one_order_says_why(unfillable, run_job):
    first, _ = unfillable

    job = run_job("orders.unhold", [first.number], params={})

    assert job.status == "failed"
    assert results(job) == [("failed", "It is opened in Unfillable.")]


def test_a_dry_run_of_a_release_moves_nothing(unfillable, run_job):
    first, second = unfillable
    events = Event.objects.count()

    job = run_job(
        "orders.release",
        [first.number, second.number, "NOPE"],
        params={},
        dry_run=True,
    )

    assert results(job) == [
        ("succeeded", "Would move it from Unfillable to Brokering."),
        ("succeeded", "Would move it from Unfillable to Brokering."),
        ("failed", "No order NOPE."),
    ]
    assert set(Order.objects.values_list("queue", flat=True)) == {"unfillable"}
    assert Event.objects.exclude(name="job.finished").count() == events


@pytest.fixture
def routed(london_order, places, products, put_stock, run_brokering):
    for place in places.values():
        put_stock(place, products["SKU-A"], 5)

    def make():
        order = london_order(lines=one_line(), **FREE_SHIPPING)
        run_brokering()
        order.refresh_from_db()
        return order, FulfillmentRequest.objects.get(order=order)

    return make


def test_a_reroute_job_takes_unaccepted_orders_back_to_brokering(routed, run_job):
    order, request = routed()
    accepted, accepted_request = routed()
    services.fulfillment_request_accept(request=accepted_request, actor=None)

    job = run_job(
        "orders.reroute", [order.number, accepted.number], params={"reason": "Storm"}
    )

    order.refresh_from_db()
    request.refresh_from_db()
    line = order.lines.get()
    assert (order.queue, request.status) == ("brokering", "withdrawn")
    assert (line.quantity_open, line.quantity_allocated) == (1, 0)
    assert not Reservation.objects.filter(owner_id=str(line.pk)).exists()
    assert results(job) == [
        ("succeeded", f"Withdrew {request.number}; back to Brokering."),
        (
            "failed",
            f"Order {accepted.number} has no fulfillment request waiting for a "
            "location to accept it; there is nothing to re-route.",
        ),
    ]
    rerouted = Event.objects.get(name="order.rerouted")
    assert rerouted.payload["withdrawn_requests"] == [request.number]
    assert rerouted.payload["reason"] == "Storm"


def test_a_reroute_dry_run_names_the_requests_and_changes_nothing(routed, run_job):
    order, request = routed()
    transitions = StateTransition.objects.exclude(entity_type="job").count()

    job = run_job("orders.reroute", [order.number], params={}, dry_run=True)

    request.refresh_from_db()
    assert request.status == "assigned"
    assert results(job) == [
        (
            "succeeded",
            f"Would withdraw {request.number} ({request.location.code}) and route "
            "the order again.",
        )
    ]
    assert StateTransition.objects.exclude(entity_type="job").count() == transitions
