"""Read queries of the payments app, shared by services, API and pages."""

from datetime import timedelta
from decimal import Decimal

from django.db.models import F, Prefetch, QuerySet, Sum
from django.utils import timezone

from payments.models import RENEWAL_RELEASES, PaymentAccount, PaymentTransaction


def _transactions() -> Prefetch:
    return Prefetch("transactions", queryset=PaymentTransaction.objects.order_by("id"))


def replacements_of(transaction: PaymentTransaction) -> list[int]:
    """Ids of the transactions made again for a refused one, oldest first."""
    return list(
        PaymentTransaction.objects.filter(replaces=transaction)
        .order_by("id")
        .values_list("pk", flat=True)
    )


def payment_account_for_owner(
    *, owner_type: str, owner_id: str
) -> PaymentAccount | None:
    """The owner's account with its transactions, or None."""
    return (
        PaymentAccount.objects.prefetch_related(_transactions())
        .filter(owner_type=owner_type, owner_id=str(owner_id))
        .first()
    )


def payment_account_list(
    *, owner_type: str = "", owner_id: str = ""
) -> QuerySet[PaymentAccount]:
    accounts = PaymentAccount.objects.all()
    if owner_type:
        accounts = accounts.filter(owner_type=owner_type)
    if owner_id:
        accounts = accounts.filter(owner_id=owner_id)
    return accounts.order_by("-id")


def payment_account_get(*, account_id: int) -> PaymentAccount | None:
    return (
        PaymentAccount.objects.prefetch_related(_transactions())
        .filter(pk=account_id)
        .first()
    )


def payment_accounts_expiring(*, within: timedelta) -> QuerySet[PaymentAccount]:
    """Accounts whose authorization lapses within `within` while some of it is
    still uncaptured: the ones to reauthorize (soonest first)."""
    return (
        PaymentAccount.objects.filter(
            status__in=[
                PaymentAccount.Status.AUTHORIZED,
                PaymentAccount.Status.PARTIALLY_CAPTURED,
            ],
            authorization_expires_at__lte=timezone.now() + within,
        )
        .annotate(
            remaining=F("authorized_amount") - F("captured_amount") - F("voided_amount")
        )
        .filter(remaining__gt=0)
        .order_by("authorization_expires_at", "id")
    )


def payment_transactions_for_account(*, account) -> QuerySet[PaymentTransaction]:
    return PaymentTransaction.objects.filter(account=account).order_by("id")


def payment_transaction_list(*, status: str = "") -> QuerySet[PaymentTransaction]:
    """Transactions newest first, optionally of one status (the failed ones to look
    at, the pending ones being retried)."""
    transactions = PaymentTransaction.objects.select_related("account")
    if status:
        transactions = transactions.filter(status=status)
    return transactions.order_by("-id")


def _pending_total(account: PaymentAccount, *kinds: str) -> Decimal:
    # A renewal's release of an old hold is not counted: the renewal already
    # counted that remainder as voided.
    total = (
        PaymentTransaction.objects.filter(
            account=account, kind__in=kinds, status=PaymentTransaction.Status.PENDING
        )
        .exclude(RENEWAL_RELEASES)
        .aggregate(total=Sum("amount"))["total"]
    )
    return total or Decimal("0")


def payment_account_capturable(*, account: PaymentAccount) -> Decimal:
    """What may still be captured or voided: the uncaptured authorization less
    captures and voids already on their way."""
    pending = _pending_total(
        account, PaymentTransaction.Kind.CAPTURE, PaymentTransaction.Kind.VOID
    )
    return account.uncaptured_amount - pending


def payment_account_refundable(*, account: PaymentAccount) -> Decimal:
    """What may still be refunded: captured less refunded less pending refunds."""
    pending = _pending_total(account, PaymentTransaction.Kind.REFUND)
    return account.captured_amount - account.refunded_amount - pending


def payment_transaction_get(*, transaction_id: int) -> PaymentTransaction | None:
    return (
        PaymentTransaction.objects.select_related("account")
        .filter(pk=transaction_id)
        .first()
    )
