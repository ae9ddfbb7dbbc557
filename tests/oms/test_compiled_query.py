"""`CompiledQuery` answers what its queryset would, with each call's own values."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import Product
from oms.db.compiled import MAX_LIST_LENGTH, CompiledQuery

pytestmark = pytest.mark.django_db


@pytest.fixture
def products():
    return Product.objects.bulk_create(
        [
            Product(sku=f"CQ-{n}", name=f"Product {n}", active=n % 2 == 0)
            for n in range(6)
        ]
    )


ACTIVE_OF = CompiledQuery(
    lambda skus: Product.objects.filter(sku__in=skus, active=True).order_by("sku")
)
NAMED = CompiledQuery(lambda sku, name: Product.objects.filter(sku=sku, name=name))


def skus(rows) -> list[str]:
    return [row.sku for row in rows]


def test_each_call_runs_with_its_own_values_and_keeps_the_fixed_ones(products):
    assert skus(ACTIVE_OF(["CQ-0", "CQ-1", "CQ-2"])) == ["CQ-0", "CQ-2"]
    # The same shape, other values: the statement is reused, not the values.
    assert skus(ACTIVE_OF(["CQ-3", "CQ-4", "CQ-5"])) == ["CQ-4"]
    assert skus(ACTIVE_OF(["CQ-1"])) == []


def test_several_values_land_in_their_own_places(products):
    assert skus(NAMED("CQ-2", "Product 2")) == ["CQ-2"]
    assert skus(NAMED("CQ-2", "Product 3")) == []
    assert skus(NAMED("CQ-3", "Product 3")) == ["CQ-3"]


def test_rows_are_whole_model_instances(products):
    (product,) = NAMED("CQ-4", "Product 4")

    assert isinstance(product, Product)
    assert (product.pk, product.name, product.active) == (
        products[4].pk,
        "Product 4",
        True,
    )
    assert product.attributes == {}


def test_a_value_is_a_parameter_never_sql(products):
    hostile = "CQ-0' OR '1'='1"

    assert skus(NAMED(hostile, "Product 0")) == []


def test_an_empty_list_answers_without_a_query(products):
    with CaptureQueriesContext(connection) as queries:
        assert skus(ACTIVE_OF([])) == []

    assert len(queries) == 0


def test_a_list_longer_than_the_limit_is_answered_by_the_queryset(products):
    many = [f"CQ-{n}" for n in range(MAX_LIST_LENGTH + 1)]

    assert skus(ACTIVE_OF(many)) == ["CQ-0", "CQ-2", "CQ-4"]


def test_a_value_that_does_not_reach_the_sql_as_a_parameter_is_refused(products):
    # A prefix search turns the value into another one (`CQ-%`): the marker is lost.
    like = CompiledQuery(lambda prefix: Product.objects.filter(sku__startswith=prefix))

    with pytest.raises(ValueError, match="one parameter of its own"):
        like("CQ-")
