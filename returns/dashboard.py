from django.urls import reverse

from oms.roles import Role
from returns import selectors
from returns.models import Return


def attention_counters(user) -> list[dict]:
    return [
        {
            "label": "Failed return refunds",
            "count": selectors.refund_failures_count(),
            "url": reverse("payments:transaction-list") + "?status=failed",
            "roles": (Role.CSR,),
        },
        {
            "label": "Returns that failed their checks",
            "count": Return.objects.filter(status=Return.Status.FAILED).count(),
            "url": reverse("returns:return-list") + "?status=failed",
            "roles": (Role.CSR,),
        },
    ]
