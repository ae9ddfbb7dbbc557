import itertools
from decimal import Decimal

import pytest

from oms.models import Event
from payments import services

_owner_ids = itertools.count(1)


@pytest.fixture
def open_account():
    """open_account(token="tok_fail_once", amount="100.00", currency="USD") → an
    account opened through the service, as order intake does."""

    def open_(
        token: str = "tok_approve",
        amount: str = "100.00",
        currency: str = "USD",
        owner_id: str | None = None,
    ):
        return services.payment_account_open(
            owner_type="order",
            owner_id=owner_id or f"O-{next(_owner_ids)}",
            currency=currency,
            amount=Decimal(amount),
            payment_token=token,
            channel="web",
        )

    return open_


@pytest.fixture
def events_of():
    """events_of(account, "payment_account.amount_refunded") → payloads in order."""

    def payloads(account, name: str) -> list[dict]:
        return list(
            Event.objects.filter(
                name=name, entity_type="payment_account", entity_id=str(account.pk)
            )
            .order_by("id")
            .values_list("payload", flat=True)
        )

    return payloads
