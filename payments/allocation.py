"""Which authorization a capture, void or refund draws on.

An account can hold several authorizations: the first, an extra one for a dearer
item swapped in, a renewal before the first lapses. A gateway moves money only
under one authorization's reference and never more than that authorization has
left, so an amount is split across the authorizations, oldest first (the oldest
lapses first). These are pure functions of the account's transactions.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from payments.models import PaymentTransaction

Kind = PaymentTransaction.Kind
Status = PaymentTransaction.Status
ZERO = Decimal("0")
# Pending money movements already count: they hold their share until they settle.
COUNTED = (Status.SUCCEEDED, Status.PENDING)


@dataclass(frozen=True)
class Balance:
    """What can still be drawn on one authorization."""

    authorization: PaymentTransaction
    amount: Decimal


def capturable_by_authorization(
    history: Iterable[PaymentTransaction],
) -> list[Balance]:
    """What each succeeded authorization has left to capture or void, oldest
    first, from the account's transactions in the order they were made.

    A renewal replaces what the earlier authorizations had left (`renews_amount`),
    taken from them oldest first; the voids that release those holds at the
    gateway take nothing more. A draw made while a renewal was still pending
    can leave an earlier authorization below zero; the renewal then holds that
    much more, and the total stays what the account can capture."""
    authorizations: dict[int, PaymentTransaction] = {}
    left: dict[int, Decimal] = {}
    for txn in history:
        if txn.kind == Kind.AUTHORIZE and txn.status == Status.SUCCEEDED:
            _take_oldest_first(left, txn.renews_amount)
            authorizations[txn.pk] = txn
            left[txn.pk] = txn.amount
        elif (
            txn.kind in (Kind.CAPTURE, Kind.VOID)
            and txn.status in COUNTED
            and not txn.is_renewal_release
        ):
            _add(left, txn.authorization_id, -txn.amount)
    return [Balance(authorizations[pk], left[pk]) for pk in authorizations]


def held_before_renewal(
    history: Iterable[PaymentTransaction], renewal: PaymentTransaction
) -> list[Balance]:
    """What each authorization made before `renewal` still holds at the gateway,
    oldest first, leaving out those that hold nothing: its amount less every
    capture and void under it (those under way included, made before or after
    the renewal) and less earlier releases (whatever became of them: one refused
    is not asked again). That is the hold the renewal took over, to release."""
    authorizations: dict[int, PaymentTransaction] = {}
    held: dict[int, Decimal] = {}
    for txn in history:
        if txn.kind == Kind.AUTHORIZE:
            if txn.status == Status.SUCCEEDED and txn.pk < renewal.pk:
                authorizations[txn.pk] = txn
                _add(held, txn.pk, txn.amount)
        elif txn.kind != Kind.REFUND and (
            txn.status in COUNTED or txn.is_renewal_release
        ):
            _add(held, txn.authorization_id, -txn.amount)
    return [
        Balance(authorizations[pk], held[pk]) for pk in authorizations if held[pk] > 0
    ]


def refundable_by_authorization(
    history: Iterable[PaymentTransaction],
) -> list[Balance]:
    """What each authorization has captured and not yet given back (refunds
    under way count), oldest first."""
    authorizations: dict[int, PaymentTransaction] = {}
    left: dict[int, Decimal] = {}
    for txn in history:
        if txn.kind == Kind.AUTHORIZE and txn.status == Status.SUCCEEDED:
            authorizations[txn.pk] = txn
            left[txn.pk] = ZERO
        elif txn.kind == Kind.CAPTURE and txn.status == Status.SUCCEEDED:
            _add(left, txn.authorization_id, txn.amount)
        elif txn.kind == Kind.REFUND and txn.status in COUNTED:
            _add(left, txn.authorization_id, -txn.amount)
    return [Balance(authorizations[pk], left[pk]) for pk in authorizations]


def allocate(
    amount: Decimal, balances: Sequence[Balance]
) -> list[tuple[PaymentTransaction, Decimal]]:
    """`amount` split over the balances, oldest first, each share within what its
    authorization has left. The shares add up to less than `amount` only when the
    balances together hold less."""
    shares = []
    for balance in balances:
        if amount <= 0:
            break
        share = min(balance.amount, amount)
        if share > 0:
            shares.append((balance.authorization, share))
            amount -= share
    return shares


def _add(left: dict[int, Decimal], authorization_id: int, amount: Decimal) -> None:
    left[authorization_id] = left.get(authorization_id, ZERO) + amount


def _take_oldest_first(left: dict[int, Decimal], amount: Decimal) -> None:
    for pk, available in left.items():
        if amount <= 0:
            return
        taken = min(max(available, ZERO), amount)
        left[pk] = available - taken
        amount -= taken
