"""What each authorization of an account has left, and how an amount is split over
them: pure functions of the account's transactions."""

import itertools
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from payments.allocation import (
    Balance,
    allocate,
    capturable_by_authorization,
    held_before_renewal,
    refundable_by_authorization,
)
from payments.models import RENEWAL_RELEASE, PaymentTransaction

D = Decimal
_ids = itertools.count(1)


def txn(kind, amount, status="succeeded", on=None, renews="0", reference=""):
    return PaymentTransaction(
        pk=next(_ids),
        kind=kind,
        amount=D(amount),
        status=status,
        authorization=on,
        renews_amount=D(renews),
        reference=reference,
    )


def release(amount, on, status="succeeded"):
    return txn("void", amount, status=status, on=on, reference=RENEWAL_RELEASE)


def left(balances) -> list[Decimal]:
    return [balance.amount for balance in balances]


def test_draws_count_against_their_own_authorization_pending_ones_included():
    first, extra = txn("authorize", "55"), txn("authorize", "22")
    history = [
        first,
        extra,
        txn("capture", "50", on=first),
        txn("void", "2", status="pending", on=extra),
        txn("capture", "5", status="failed", on=first),
        txn("capture", "3", status="cancelled", on=extra),
        txn("authorize", "10", status="failed"),
    ]

    assert left(capturable_by_authorization(history)) == [D("5"), D("20")]


def test_a_renewal_replaces_what_the_earlier_authorizations_had_left():
    first, extra = txn("authorize", "55"), txn("authorize", "22")
    captured = txn("capture", "40", on=first)
    renewal = txn("authorize", "37", renews="37")

    balances = capturable_by_authorization([first, extra, captured, renewal])

    assert [b.authorization for b in balances] == [first, extra, renewal]
    assert left(balances) == [D("0"), D("0"), D("37")]


def test_a_draw_made_while_a_renewal_was_pending_keeps_the_total_exact():
    first = txn("authorize", "100")
    renewal = txn("authorize", "100", renews="100")  # asked first, settled later
    captured_meanwhile = txn("capture", "30", on=first)

    balances = capturable_by_authorization([first, renewal, captured_meanwhile])

    # The account can capture 100 + 100 − 100 renewed − 30 = 70.
    assert left(balances) == [D("-30"), D("100")]
    assert allocate(D("70"), balances) == [(renewal, D("70"))]


def test_a_renewal_releases_what_each_earlier_hold_still_holds_at_the_gateway():
    first = txn("authorize", "100")
    renewal = txn("authorize", "100", renews="100")  # asked first, settled later
    captured_meanwhile = txn("capture", "30", on=first)
    later = txn("authorize", "20")  # made after the renewal: not renewed by it

    held = held_before_renewal([first, renewal, captured_meanwhile, later], renewal)

    assert [(b.authorization, b.amount) for b in held] == [(first, D("70"))]


def test_a_hold_released_once_is_not_released_again_whatever_became_of_it():
    first, extra = txn("authorize", "55"), txn("authorize", "22")
    renewal = txn("authorize", "77", renews="77")
    refused, under_way = release("55", first, "failed"), release("22", extra, "pending")
    again = txn("authorize", "77", renews="77")
    history = [first, extra, renewal, refused, under_way, again]

    held = held_before_renewal(history, again)

    assert [(b.authorization, b.amount) for b in held] == [(renewal, D("77"))]


def test_releases_take_nothing_from_what_the_account_can_capture():
    first = txn("authorize", "100")
    renewal = txn("authorize", "100", renews="100")
    history = [first, renewal, release("100", first, "pending")]

    assert left(capturable_by_authorization(history)) == [D("0"), D("100")]


def test_what_can_be_refunded_is_what_each_authorization_captured():
    first, extra = txn("authorize", "55"), txn("authorize", "22")
    history = [
        first,
        extra,
        txn("capture", "55", on=first),
        txn("capture", "10", on=extra),
        txn("capture", "5", status="pending", on=extra),
        txn("refund", "20", on=first),
        txn("refund", "4", status="pending", on=extra),
        txn("refund", "9", status="failed", on=extra),
    ]

    assert left(refundable_by_authorization(history)) == [D("35"), D("6")]


amounts = st.decimals(min_value=D("-50"), max_value=D("500"), places=2)


@given(balances=st.lists(amounts, max_size=5), amount=amounts)
def test_shares_fit_their_authorizations_and_add_up_to_what_they_can(balances, amount):
    authorizations = [txn("authorize", "1") for _ in balances]
    available = [
        Balance(authorization, balance)
        for authorization, balance in zip(authorizations, balances, strict=True)
    ]

    shares = allocate(amount, available)

    held = sum((max(balance, D("0")) for balance in balances), D("0"))
    assert sum((share for _, share in shares), D("0")) == min(max(amount, D(0)), held)
    by_authorization = dict(zip(authorizations, balances, strict=True))
    assert all(0 < share <= by_authorization[a] for a, share in shares)
    order = [authorizations.index(a) for a, _ in shares]
    assert order == sorted(order)
