"""Payments made before captures, voids and refunds named their authorization keep
working after the migration that makes them name it (payments 0004 and 0005)."""

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from payments import services
from payments.models import PaymentAccount

D = Decimal
BEFORE = [("payments", "0003_transaction_cancelled")]
REPOSITORY = Path(__file__).resolve().parents[2]


def migrate_to(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def made_by_the_old_code(apps, owner_id, authorizations, captured):
    """An account as the old code left it: its authorizations (amount, gateway
    reference) and one capture sent under the newest of them."""
    Account = apps.get_model("payments", "PaymentAccount")
    Transaction = apps.get_model("payments", "PaymentTransaction")
    Ledger = apps.get_model("payments", "TestProviderOperation")
    account = Account.objects.create(
        owner_type="order",
        owner_id=owner_id,
        currency="USD",
        channel="web",
        provider="test",
        payment_token="tok_approve",
        status="partially_captured",
        authorized_amount=sum(amount for amount, _ in authorizations),
        captured_amount=captured,
    )
    operations = [
        ("authorize", amount, f"{owner_id}-authorize-{n}", reference)
        for n, (amount, reference) in enumerate(authorizations)
    ] + [("capture", captured, f"{owner_id}-capture", f"{owner_id}-captured")]
    for kind, amount, key, reference in operations:
        Transaction.objects.create(
            account=account,
            kind=kind,
            amount=amount,
            status="succeeded",
            idempotency_key=key,
            provider_reference=reference,
            attempts=1,
        )
        Ledger.objects.create(
            idempotency_key=key,
            operation=kind,
            payment_token="tok_approve",
            amount=amount,
            currency="USD",
            attempts=1,
            outcome="succeeded",
            provider_reference=reference,
        )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_money_captured_before_the_migration_is_refunded_under_its_authorization():
    old = migrate_to(BEFORE)
    made_by_the_old_code(old, "ONE", [(D("100"), "auth-one")], captured=D("60"))
    # A dearer swap's extra authorization: the old code sent the whole capture
    # under it.
    made_by_the_old_code(
        old, "TWO", [(D("55"), "auth-two"), (D("22"), "auth-two-extra")], D("77")
    )
    migrate_to(MigrationExecutor(connection).loader.graph.leaf_nodes())

    one = PaymentAccount.objects.get(owner_id="ONE")
    two = PaymentAccount.objects.get(owner_id="TWO")
    [capture_one] = one.transactions.filter(kind="capture")
    [capture_two] = two.transactions.filter(kind="capture")
    [refund_one] = services.payment_refund(
        account=one, amount=D("30.00"), idempotency_key="refund-one"
    )
    [refund_two] = services.payment_refund(
        account=two, amount=D("77.00"), idempotency_key="refund-two"
    )
    [void_one] = services.payment_void(
        account=one, amount=D("40.00"), idempotency_key="void-one"
    )

    assert capture_one.authorization.provider_reference == "auth-one"
    assert capture_two.authorization.provider_reference == "auth-two-extra"
    assert [(t.status, t.error) for t in (refund_one, refund_two, void_one)] == [
        ("succeeded", "")
    ] * 3
    one.refresh_from_db()
    assert (one.refunded_amount, one.voided_amount) == (D("30"), D("40"))


@pytest.mark.slow
def test_the_migrations_run_on_a_fresh_sqlite_database(tmp_path):
    """SQLite is the database of `make run` on a bare machine."""
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
    }

    migrated = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert migrated.returncode == 0, migrated.stderr[-2000:]
