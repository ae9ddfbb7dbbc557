"""Global search: a SKU leads to its stock at every location."""

from django.urls import reverse
from django.utils.http import urlencode

from inventory.models import Product
from oms.roles import Role, has_role


def search_hits(*, query: str, user) -> list[dict]:
    if not has_role(user, Role.CSR, Role.STORE_ASSOCIATE, Role.INVENTORY_MANAGER):
        return []
    product = Product.objects.filter(sku=query).first()
    if product is None:
        return []
    return [
        {
            "kind": "Product",
            "label": f"Stock of {product.sku}",
            "detail": product.name,
            "url": reverse("inventory:stock-list")
            + "?"
            + urlencode({"q": product.sku}),
        }
    ]
