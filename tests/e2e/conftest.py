# ruff: noqa: F811  (fixtures imported from the app tests, then requested)
"""Journey fixtures: the state a person finds when they start, built through the
services as the shop, the stores and the integrations would have made it (the app
tests' fixtures, shared rather than copied)."""

from tests.inventory.conftest import make_product, receive  # noqa: F401  (fixtures)
from tests.orders.conftest import (  # noqa: F401  (fixtures)
    channel,
    opened_order,
    place_order,
    products,
)
from tests.orders.routing.conftest import (  # noqa: F401  (fixtures)
    default_rules,
    london_order,
    make_location,
    places,
    put_stock,
    run_brokering,
)
from tests.returns.conftest import ship_order, shipped_order  # noqa: F401  (fixtures)
