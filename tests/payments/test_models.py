"""State machines (every transition allowed and refused) and the database's own
guard of the money invariants."""

import re
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django_fsm import TransitionNotAllowed

from payments.models import AccountStatus, PaymentAccount, PaymentTransaction
from payments.services import payment_capture, payment_refund

ACCOUNT_TRANSITIONS = {
    "authorize": ({"pending_authorization"}, "authorized"),
    "fail_authorization": ({"pending_authorization"}, "authorization_failed"),
    "retry_authorization": ({"authorization_failed"}, "pending_authorization"),
    "capture_partially": ({"authorized"}, "partially_captured"),
    "complete_capture": ({"authorized", "partially_captured"}, "captured"),
    "void": ({"authorized"}, "voided"),
    "reopen": ({"captured"}, "partially_captured"),
}
TRANSACTION_TRANSITIONS = {
    "succeed": ({"pending"}, "succeeded"),
    "fail": ({"pending"}, "failed"),
    "retry": ({"failed"}, "pending"),
}


@pytest.mark.parametrize("source", AccountStatus.values)
@pytest.mark.parametrize("name", ACCOUNT_TRANSITIONS)
def test_account_transition_allowed_only_from_its_sources(name, source):
    sources, target = ACCOUNT_TRANSITIONS[name]
    account = PaymentAccount(status=source)

    if source in sources:
        getattr(account, name)()
        assert account.status == target
    else:
        with pytest.raises(TransitionNotAllowed):
            getattr(account, name)()
        assert account.status == source


@pytest.mark.parametrize("source", PaymentTransaction.Status.values)
@pytest.mark.parametrize("name", TRANSACTION_TRANSITIONS)
def test_transaction_transition_allowed_only_from_its_sources(name, source):
    sources, target = TRANSACTION_TRANSITIONS[name]
    txn = PaymentTransaction(status=source)

    if source in sources:
        getattr(txn, name)()
        assert txn.status == target
    else:
        with pytest.raises(TransitionNotAllowed):
            getattr(txn, name)()


def test_status_cannot_be_assigned_directly():
    account = PaymentAccount(status="authorized")

    with pytest.raises(AttributeError):
        account.status = "captured"


@pytest.mark.parametrize(
    ("authorized", "captured", "voided", "expected"),
    [
        ("100", "0", "0", "authorized"),
        ("100", "0", "30", "authorized"),
        ("100", "40", "0", "partially_captured"),
        ("100", "40", "60", "captured"),
        ("100", "100", "0", "captured"),
        ("100", "0", "100", "voided"),
    ],
)
def test_settled_status_follows_the_amounts(authorized, captured, voided, expected):
    account = PaymentAccount(
        status="authorized",
        authorized_amount=Decimal(authorized),
        captured_amount=Decimal(captured),
        voided_amount=Decimal(voided),
    )

    assert account.settled_status() == expected


def _raw_update(account, assignment: str) -> None:
    table = PaymentAccount._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {assignment} WHERE id = %s", [account.pk])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("assignment", "constraints"),
    [
        # captured <= authorized also follows from captured + voided <= authorized;
        # the database names whichever of the two it checks first.
        (
            "captured_amount = authorized_amount + 1",
            {"captured_within_authorized", "captured_voided_within_authorized"},
        ),
        ("refunded_amount = captured_amount + 1", {"refunded_within_captured"}),
        (
            "voided_amount = authorized_amount - captured_amount + 1",
            {"captured_voided_within_authorized"},
        ),
        ("voided_amount = -1", {"amounts_not_negative"}),
        ("refunded_amount = -1", {"amounts_not_negative"}),
        ("status = 'refunded'", {"status_valid"}),
    ],
)
def test_database_refuses_a_raw_update_that_breaks_the_money_invariants(
    open_account, assignment, constraints
):
    account = open_account(amount="100.00")
    payment_capture(account=account, amount=Decimal("40.00"), idempotency_key="cap-1")
    payment_refund(account=account, amount=Decimal("10.00"), idempotency_key="ref-1")

    with pytest.raises(IntegrityError) as refused:
        _raw_update(account, assignment)

    violated = re.search(r"payment_account_\w+", str(refused.value)).group()
    assert violated in {f"payment_account_{name}" for name in constraints}
    account.refresh_from_db()
    assert (account.captured_amount, account.refunded_amount) == (40, 10)


@pytest.mark.django_db
def test_database_refuses_a_queryset_update_past_the_captured_amount(open_account):
    account = open_account(amount="50.00")
    payment_capture(account=account, amount=Decimal("50.00"), idempotency_key="cap-1")

    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentAccount.objects.filter(pk=account.pk).update(
            refunded_amount=Decimal("50.01")
        )


@pytest.mark.django_db
def test_database_refuses_a_second_account_for_the_same_owner(open_account):
    open_account(owner_id="O-dup")

    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentAccount.objects.create(
            owner_type="order",
            owner_id="O-dup",
            currency="USD",
            provider="test",
            payment_token="tok_approve",
        )
