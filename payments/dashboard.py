from django.urls import reverse

from oms.roles import Role
from payments.models import RENEWAL_RELEASES, PaymentTransaction


def attention_counters(user) -> list[dict]:
    # A renewal's release of an old hold that the gateway refused needs no one:
    # the hold lapses on its own.
    failed = PaymentTransaction.objects.filter(
        status=PaymentTransaction.Status.FAILED
    ).exclude(RENEWAL_RELEASES)
    return [
        {
            "label": "Failed payment transactions",
            "count": failed.count(),
            "url": reverse("payments:transaction-list") + "?status=failed",
            "roles": (Role.CSR,),
        }
    ]
