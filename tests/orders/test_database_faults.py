"""PostgreSQL connections terminated under gunicorn (`pg_terminate_backend`), as a
failover, a restart or an administrator would: in the middle of an order's
transaction, and while a web worker's persistent connection sits idle."""

import threading

import pytest
import requests
from django.db import connection, transaction

from oms.models import Event
from oms.services.api_clients import api_client_create
from orders.models import Order, OrderLine
from payments.models import PaymentAccount
from tests.integration_support import needs_services, services_env, wait_until
from tests.servers import Gunicorn

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    needs_services,
]


def order_body(external_id: str) -> dict:
    return {
        "channel": "web",
        "external_id": external_id,
        "currency": "USD",
        "payment_token": "tok_approve",
        "customer_name": "Ada Lovelace",
        "customer_email": "ada@example.com",
        "shipping_address": {"address_line1": "1 Analytical Row", "city": "London"},
        "shipping_method": "standard",
        "lines": [{"sku": "SKU-A", "quantity": 2, "unit_price": "10.00"}],
    }


@pytest.fixture
def web(channel, products):
    """gunicorn with one sync worker (one database connection, kept between
    requests as in production) and an integration's session."""
    _, token = api_client_create(name="shop")
    with Gunicorn(workers=1, env=services_env()) as server:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        session.base = f"{server.url}/api/v1"
        yield session


def terminate(pids: list[int]) -> None:
    with connection.cursor() as cursor:
        for pid in pids:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


def other_backends(*, waiting_on_lock: bool = False) -> list[int]:
    """This test database's server processes other than this test's own."""
    sql = """
        SELECT pid FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()
    """
    if waiting_on_lock:
        sql += " AND wait_event_type = 'Lock'"
    with connection.cursor() as cursor:
        # Inside a transaction the statistics views keep their first snapshot.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


def written_for(external_id: str) -> dict:
    orders = Order.objects.filter(external_id=external_id)
    ids = [str(pk) for pk in orders.values_list("pk", flat=True)]
    return {
        "orders": orders.count(),
        "lines": OrderLine.objects.filter(order__external_id=external_id).count(),
        "payment_accounts": PaymentAccount.objects.filter(
            owner_type="order", owner_id__in=ids
        ).count(),
        "events": Event.objects.filter(entity_type="order", entity_id__in=ids).count(),
    }


def test_an_order_whose_connection_is_killed_mid_transaction_leaves_nothing(web):
    answer = {}

    def place_order():
        answer["response"] = web.post(
            f"{web.base}/orders", json=order_body("KILLED-1"), timeout=30
        )

    # The payment account is written after the order and its lines: holding a
    # lock on its table stops the request inside its transaction.
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {PaymentAccount._meta.db_table} IN SHARE MODE")
        request = threading.Thread(target=place_order)
        request.start()
        blocked: list[int] = []

        def request_is_waiting() -> bool:
            blocked[:] = other_backends(waiting_on_lock=True)
            return bool(blocked)

        wait_until(request_is_waiting, timeout=15, message="request never blocked")
        terminate(blocked)
    request.join(timeout=30)

    response = answer["response"]
    assert response.status_code == 503
    assert response.json()["type"] == "database_unavailable"
    assert response.headers["Retry-After"]
    assert written_for("KILLED-1") == {
        "orders": 0,
        "lines": 0,
        "payment_accounts": 0,
        "events": 0,
    }

    retried = web.post(f"{web.base}/orders", json=order_body("KILLED-1"), timeout=30)

    assert retried.status_code == 201, retried.text
    assert written_for("KILLED-1") == {
        "orders": 1,
        "lines": 1,
        "payment_accounts": 1,
        "events": 1,
    }


def test_a_terminated_idle_connection_is_replaced_before_the_next_request(web):
    first = web.post(f"{web.base}/orders", json=order_body("IDLE-1"), timeout=30)
    assert first.status_code == 201, first.text
    idle = other_backends()
    assert idle, "gunicorn keeps no persistent connection"

    terminate(idle)
    wait_until(lambda: not other_backends(), timeout=10, message="still connected")

    listed = web.get(f"{web.base}/orders", timeout=30)
    created = web.post(f"{web.base}/orders", json=order_body("IDLE-2"), timeout=30)
    assert (listed.status_code, created.status_code) == (200, 201), created.text
    assert Order.objects.filter(external_id__startswith="IDLE-").count() == 2
