"""Redis (the Celery broker) stops while orders are taken in and shipped through
gunicorn, then starts again empty: the API keeps answering, the events wait in the
outbox, and once the broker is back beat's outbox sweep gets every one of them to the
webhook receiver exactly once."""

import time
from decimal import Decimal

import pytest
import requests

from oms.models import Event
from oms.services.api_clients import api_client_create
from oms.services.webhooks import subscription_create
from orders.intake import LineInput
from orders.models import Order
from orders.routing.models import FulfillmentRequest
from tests.integration_support import (
    WorkerProcess,
    needs_services,
    purge_queue,
    services_env,
    wait_until,
)
from tests.oms.webhook_receiver import Receiver
from tests.servers import CeleryProcess, Gunicorn

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    needs_services,
]

LINES = [LineInput(sku="SKU-A", quantity=1, unit_price=Decimal("10.00"))]
# A request that has to wait for a broker would take seconds (connect retries).
QUICK = 2.0
BUSY_RETRIES = 5


class Traffic:
    """Takes orders in and ships fulfillment requests through the API, as an
    e-commerce platform and a WMS would, timing every call."""

    def __init__(self, base_url: str, token: str, requests_to_ship: list[int]):
        self.base = f"{base_url}/api/v1"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.to_ship = list(requests_to_ship)
        self.external_ids: list[str] = []
        self.slowest = 0.0

    def post(self, path: str, body: dict, expected: int) -> None:
        """POST and check the status. An `order_busy` 409 (a worker's workflow step
        holds the order for a moment) is tried again shortly, as a WMS does."""
        for _ in range(BUSY_RETRIES):
            started = time.monotonic()
            response = self.session.post(f"{self.base}/{path}", json=body, timeout=30)
            self.slowest = max(self.slowest, time.monotonic() - started)
            if response.status_code != 409 or response.json()["type"] != "order_busy":
                break
            time.sleep(0.2)
        assert response.status_code == expected, (path, response.text[:300])

    def take_orders(self, count: int) -> None:
        for _ in range(count):
            external_id = f"OUTAGE-{len(self.external_ids) + 1}"
            self.post(
                "orders",
                {
                    "channel": "web",
                    "external_id": external_id,
                    "currency": "USD",
                    "payment_token": "tok_approve",
                    "customer_name": "Grace Hopper",
                    "customer_email": "grace@example.com",
                    "shipping_address": {"address_line1": "1 Strand", "city": "London"},
                    "shipping_method": "standard",
                    "lines": [{"sku": "SKU-A", "quantity": 1, "unit_price": "10.00"}],
                },
                201,
            )
            self.external_ids.append(external_id)

    def ship(self, count: int) -> None:
        for _ in range(count):
            pk = self.to_ship.pop()
            self.post(f"fulfillment-requests/{pk}/accept", {}, 200)
            self.post(f"fulfillment-requests/{pk}/pack", {}, 200)
            ship = {"carrier": "DHL", "tracking_number": f"TRK-{pk}"}
            self.post(f"fulfillment-requests/{pk}/ship", ship, 200)


def test_writes_go_on_while_redis_is_down_and_every_event_arrives_once(
    london_order, places, products, put_stock, run_brokering, private_redis
):
    purge_queue()
    put_stock(places["near"], products["SKU-A"], 50)
    for _ in range(6):
        london_order(
            lines=LINES, shipping_price=Decimal("0"), shipping_tax=Decimal("0")
        )
    run_brokering()
    routed = list(FulfillmentRequest.objects.values_list("pk", flat=True))
    assert len(routed) == 6
    _, token = api_client_create(name="shop")
    env = services_env(REDIS_URL=private_redis.url)

    with (
        Receiver() as receiver,
        Gunicorn(workers=1, threads=2, env=env) as web,
        WorkerProcess(REDIS_URL=private_redis.url),
        CeleryProcess("beat", env=env),
    ):
        receiver.secret = subscription_create(
            name="erp", url=receiver.url, event_patterns=["*"]
        ).secret
        traffic = Traffic(web.url, token, routed)
        traffic.take_orders(4)
        traffic.ship(2)

        private_redis.stop()
        outage_started = Event.objects.count()
        traffic.take_orders(4)
        traffic.ship(2)
        recorded_during_outage = Event.objects.count() - outage_started
        assert recorded_during_outage >= 4 + 2 * 3
        assert traffic.slowest < QUICK, "a request waited for the broker"
        private_redis.start()

        traffic.take_orders(4)
        traffic.ship(2)

        def all_delivered() -> bool:
            published = set(
                Event.objects.filter(sequence__isnull=False).values_list(
                    "sequence", flat=True
                )
            )
            everything_sequenced = not Event.objects.filter(
                sequence__isnull=True
            ).exists()
            return everything_sequenced and receiver.delivered_ids() == published

        wait_until(
            all_delivered,
            timeout=60,
            interval=0.5,
            message=lambda: (
                f"{len(receiver.delivered_ids())} of {Event.objects.count()} "
                "events delivered"
            ),
        )
    purge_queue()

    assert Order.objects.filter(external_id__startswith="OUTAGE-").count() == 12
    assert FulfillmentRequest.objects.filter(status="completed").count() == 6
    delivered = [r["envelope"]["id"] for r in receiver.received if r["status"] == 200]
    assert len(delivered) == len(set(delivered)) == Event.objects.count()
    assert receiver.forged == 0
