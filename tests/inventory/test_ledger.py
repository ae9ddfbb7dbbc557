"""The ledger is the only way on_hand changes, and check_stock proves it."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.utils import IntegrityError

from inventory import selectors, services
from inventory.models import InventoryTransaction, StockLevel
from oms.models import Event

pytestmark = pytest.mark.django_db


def test_adjustment_with_a_reason_code_posts_a_ledger_row_and_an_event(
    store, product, receive
):
    receive(store, product, 5)

    row = services.adjustment_create(
        location=store, product=product, quantity=-2, reason="damaged", note="wet box"
    )

    assert (row.type, row.reason, row.on_hand_after) == ("adjustment", "damaged", 3)
    event = Event.objects.get(name="inventory_transaction.adjustment_created")
    assert event.entity_type == "inventory_transaction"
    assert event.payload["quantity"] == -2


@pytest.mark.parametrize(
    ("reason", "quantity", "code"),
    [
        ("damaged", 2, "invalid_quantity"),
        ("found", -1, "invalid_quantity"),
        ("correction", 0, "invalid_quantity"),
        ("stolen", -1, "invalid_reason"),
    ],
)
def test_bad_adjustments_are_refused_and_write_nothing(
    store, product, receive, reason, quantity, code
):
    receive(store, product, 5)
    with pytest.raises(Exception) as refused:
        services.adjustment_create(
            location=store, product=product, quantity=quantity, reason=reason
        )
    assert refused.value.code == code
    assert InventoryTransaction.objects.count() == 1


def test_stock_never_goes_negative(store, product, receive):
    receive(store, product, 1)
    with pytest.raises(Exception) as refused:
        services.adjustment_create(
            location=store, product=product, quantity=-2, reason="lost"
        )
    assert refused.value.code == "insufficient_stock"
    assert StockLevel.objects.get().on_hand == 1


def test_the_database_refuses_reserved_above_on_hand(store, product, receive):
    receive(store, product, 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.update(reserved=2)


def test_check_stock_passes_and_catches_a_level_changed_behind_the_ledger(
    store, product, receive, capsys
):
    receive(store, product, 4)
    call_command("check_stock")
    assert "matches" in capsys.readouterr().out

    StockLevel.objects.update(on_hand=7)

    assert selectors.stock_ledger_mismatches()[0]["ledger_sum"] == 4
    with pytest.raises(CommandError):
        call_command("check_stock")


def test_ledger_rows_cannot_be_edited_or_deleted(store, product, receive):
    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's")
    receive(store, product, 4)
    with pytest.raises(IntegrityError), transaction.atomic():
        InventoryTransaction.objects.update(quantity=40)
    with pytest.raises(IntegrityError), transaction.atomic():
        InventoryTransaction.objects.all().delete()
    assert InventoryTransaction.objects.get().quantity == 4
