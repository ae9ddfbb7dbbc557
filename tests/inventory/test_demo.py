import io

import pytest

from inventory import demo, selectors
from inventory.models import Asn, CycleCount, Location, Product, TransferOrder

pytestmark = pytest.mark.django_db


def test_demo_data_is_complete_consistent_and_idempotent():
    demo.seed(io.StringIO())
    demo.seed(io.StringIO())

    assert Location.objects.filter(type="dc").count() == 2
    assert not Location.objects.filter(latitude__isnull=True).exists()
    assert Product.objects.count() == 30
    assert Asn.objects.filter(status="open", transfer_order__isnull=True).exists()
    assert set(TransferOrder.objects.values_list("status", flat=True)) >= {
        "open",
        "shipped",
        "partially_received",
    }
    assert CycleCount.objects.filter(status="counted").count() == 1
    assert selectors.stock_ledger_mismatches() == []
