"""Dashboard counters: what inventory staff should look at now."""

from django.urls import reverse

from inventory import selectors
from inventory.models import CycleCount
from oms.roles import Role


def attention_counters(user) -> list[dict]:
    return [
        {
            "label": "Transfer orders past their date",
            # Scoped as the list it links to is (a store's own transfers).
            "count": selectors.visible_to(
                selectors.overdue_transfer_orders(),
                user=user,
                through=selectors.TRANSFER_ORDER_ENDS,
            ).count(),
            "url": reverse("inventory:transfer-order-list") + "?overdue=1",
            "roles": (Role.STORE_ASSOCIATE, Role.INVENTORY_MANAGER),
        },
        {
            "label": "Cycle counts awaiting review",
            "count": CycleCount.objects.filter(
                status=CycleCount.Status.COUNTED
            ).count(),
            "url": reverse("inventory:cycle-count-list") + "?status=counted",
            "roles": (Role.INVENTORY_MANAGER,),
        },
    ]
