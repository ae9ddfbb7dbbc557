"""A batch import racing a single intake for the same external id."""

import threading
import time

import pytest
from django.db import close_old_connections, connection, transaction

from orders.intake import order_create, orders_import
from orders.models import Order
from tests.orders.conftest import order_input

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_order_committed_meanwhile_is_reported_existing_not_a_server_error(
    channel, products
):
    if connection.vendor != "postgresql":
        pytest.skip("the unique index decides the race; PostgreSQL only")
    contested = order_input(external_id="RACE-1")
    inserted = threading.Event()

    def single_intake() -> None:
        try:
            with transaction.atomic():
                order_create(data=contested)
                inserted.set()
                # The import looks up RACE-1 meanwhile, finds nothing, and waits on
                # the unique index until this commits.
                time.sleep(1)
        finally:
            close_old_connections()
            connection.close()

    thread = threading.Thread(target=single_intake)
    thread.start()
    assert inserted.wait(10)
    results = orders_import(orders=[order_input(external_id="OTHER-1"), contested])
    thread.join()

    assert [(r.external_id, r.status) for r in results] == [
        ("OTHER-1", "created"),
        ("RACE-1", "existing"),
    ]
    assert Order.objects.filter(external_id="RACE-1").count() == 1
    assert Order.objects.filter(external_id="OTHER-1").count() == 1
