from django.urls import reverse

from oms.roles import Role
from payments.models import PaymentTransaction


def attention_counters(user) -> list[dict]:
    failed = PaymentTransaction.objects.filter(status=PaymentTransaction.Status.FAILED)
    return [
        {
            "label": "Failed payment transactions",
            "count": failed.count(),
            "url": reverse("payments:transaction-list") + "?status=failed",
            "roles": (Role.CSR,),
        }
    ]
