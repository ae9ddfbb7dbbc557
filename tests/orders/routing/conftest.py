"""Routing fixtures: locations at known places, stock put there through the ledger,
and helpers to run brokering as beat or a CSR would."""

import pytest

from inventory import services as inventory_services
from inventory.models import InventoryTransaction, Location
from orders.routing import services
from orders.routing.models import BrokeringRun, RoutingRuleSet

# The customer lives in London (shipping address coordinates below).
LONDON = {"latitude": 51.5072, "longitude": -0.1276}


@pytest.fixture
def make_location(db):
    def make(code, *, lat, lng, type=Location.Type.STORE, **fields):
        return inventory_services.location_create(
            code=code,
            name=code,
            type=type,
            latitude=lat,
            longitude=lng,
            can_pickup=type == Location.Type.STORE,
            **fields,
        )

    return make


@pytest.fixture
def put_stock(db):
    def put(location, product, quantity):
        inventory_services.adjustment_create(
            location=location,
            product=product,
            quantity=quantity,
            reason=InventoryTransaction.Reason.FOUND,
        )

    return put


@pytest.fixture
def places(make_location):
    """Two London-area stores (near: Camden, far: Croydon) and a Manchester DC."""
    return {
        "near": make_location("CAMDEN", lat=51.539, lng=-0.1426),
        "far": make_location("CROYDON", lat=51.3762, lng=-0.0982),
        "dc": make_location("DC-MAN", lat=53.4808, lng=-2.2426, type=Location.Type.DC),
    }


@pytest.fixture
def london_order(opened_order):
    def make(**overrides):
        overrides.setdefault(
            "shipping_address",
            {"address_line1": "1 Strand", "city": "London", **LONDON},
        )
        return opened_order(**overrides)

    return make


@pytest.fixture
def default_rules(db):
    """The rule set the data migration seeds (re-made after a transactional test's
    flush, with the same settings)."""
    return RoutingRuleSet.objects.filter(
        name="Default"
    ).first() or services.rule_set_create(name="Default", run_every_minutes=5)


@pytest.fixture
def run_brokering(default_rules, django_capture_on_commit_callbacks):
    """Start and execute a run of a rule set (the default one unless given)."""

    def run(rule_set=None, **kwargs) -> BrokeringRun:
        rule_set = rule_set or default_rules
        started = services.brokering_run_start(rule_set=rule_set, enqueue=False)
        with django_capture_on_commit_callbacks(execute=True):
            return services.brokering_run_execute(run_id=started.pk, **kwargs)

    return run
