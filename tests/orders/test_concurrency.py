"""Two CSRs change the same order at the same moment: one wins, the other gets a
conflict, and the money stays exact. Real threads on PostgreSQL."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from oms.errors import ApplicationError
from orders import services
from orders.models import Order

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def run_together(*actions):
    barrier = threading.Barrier(len(actions))
    outcomes = [None] * len(actions)

    def run(index, action):
        try:
            barrier.wait()
            action()
            outcomes[index] = "ok"
        except ApplicationError as exc:
            outcomes[index] = exc.code
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def money_is_exact(order: Order) -> bool:
    """What stays authorized is exactly what the customer still owes."""
    order.refresh_from_db()
    lines = list(order.lines.all())
    owed = (
        order.total
        - order.shipping_credited
        - sum(line.credited_amount for line in lines)
    )
    account = services.order_account(order)
    held = account.authorized_amount - account.voided_amount - account.refunded_amount
    return held == owed


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL"
)
@pytest.mark.parametrize("round_", range(4))
def test_a_cancel_and_a_swap_at_once_one_wins_and_money_stays_exact(
    opened_order, round_
):
    order = opened_order()
    line_b = order.lines.get(sku="SKU-B")

    outcomes = run_together(
        lambda: services.order_cancel(order=order, actor=None, reason="CSR one"),
        lambda: services.order_items_swap(
            order=order,
            line_id=line_b.pk,
            new_sku="SKU-D",
            quantity=1,
            new_unit_price=Decimal("30.00"),
            actor=None,
            reason="CSR two",
        ),
    )

    assert "ok" in outcomes
    assert set(outcomes) <= {"ok", "order_busy", "order_not_changeable"}
    assert money_is_exact(order)
    if outcomes == ["ok", "ok"]:
        # The swap committed first, then the cancellation gave everything back.
        assert Order.objects.get(pk=order.pk).status == "cancelled"


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL"
)
def test_two_item_cancellations_at_once_never_give_back_more_than_was_paid(
    opened_order,
):
    order = opened_order()
    line_a = order.lines.get(sku="SKU-A")

    outcomes = run_together(
        *[
            lambda: services.order_lines_cancel(
                order=order, quantities={line_a.pk: 2}, actor=None, reason="twice"
            )
        ]
        * 3
    )

    assert outcomes.count("ok") == 1
    assert set(outcomes) <= {"ok", "order_busy", "invalid_quantities"}
    line_a.refresh_from_db()
    assert line_a.quantity_cancelled == 2
    assert money_is_exact(order)
