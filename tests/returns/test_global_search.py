"""The header's search box finds a return by its RMA number, for the staff who may
see it."""

import pytest
from django.test import Client
from django.urls import reverse

from inventory import services as inventory_services
from returns import services
from tests.returns.conftest import item

pytestmark = pytest.mark.django_db


def search(user, query: str):
    client = Client()
    client.force_login(user)
    return client.get(reverse("backoffice:search"), {"q": query})


def test_an_rma_number_jumps_to_its_return_for_the_receiving_store_only(
    shipped_order, places, associate, make_user
):
    created, _ = services.return_create(
        order=shipped_order,
        location=places["near"],
        items=[item(shipped_order, "SKU-B")],
        actor=associate,
    )
    elsewhere = make_user("store_associate")
    inventory_services.location_assign_staff(user=elsewhere, location=places["far"])

    mine = search(associate, created.rma_number.lower())
    csr = search(make_user("csr"), created.rma_number)
    other_store = search(elsewhere, created.rma_number)

    assert mine.status_code == 302
    assert mine.url == created.get_absolute_url()
    assert csr.url == created.get_absolute_url()
    assert other_store.status_code == 200
    assert other_store.context["hits"] == []
