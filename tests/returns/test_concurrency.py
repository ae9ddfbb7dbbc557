"""Two store associates take back the same last item at the same moment: the
order row lock makes their checks run one after the other, so only one return is
processed and the money is refunded once. Real threads on PostgreSQL."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from orders.services import order_account
from payments.models import PaymentTransaction
from returns.models import Return
from returns.services import return_create
from tests.returns.conftest import item

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def run_together(*actions):
    barrier = threading.Barrier(len(actions))
    errors = []

    def run(action):
        try:
            barrier.wait()
            action()
        except Exception as exc:  # noqa: BLE001  (reported by the test)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL"
)
@pytest.mark.parametrize("round_", range(3))
def test_two_returns_racing_for_the_last_item_only_one_succeeds(
    shipped_order, places, round_
):
    return_create(
        order=shipped_order,
        items=[item(shipped_order, "SKU-A", 2)],
        location=places["near"],
        actor=None,
    )
    last = item(shipped_order, "SKU-B")

    def give_back():
        return_create(
            order=shipped_order, items=[last], location=places["near"], actor=None
        )

    assert run_together(give_back, give_back) == []

    statuses = sorted(
        Return.objects.filter(lines__sku="SKU-B").values_list("status", flat=True)
    )
    assert statuses == ["failed", "processed"]
    line = shipped_order.lines.get(sku="SKU-B")
    assert (line.quantity_fulfilled, line.quantity_returned) == (0, 1)
    shipped_order.refresh_from_db()
    assert shipped_order.shipping_credited == Decimal("5.50")
    assert PaymentTransaction.objects.filter(kind="refund").count() == 2
    assert order_account(shipped_order).refunded_amount == Decimal("55.00")
