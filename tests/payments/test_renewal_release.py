"""A renewal releases at the gateway the holds it took over: one void per earlier
authorization, of what that authorization still held, under its own reference.
The books counted that remainder as voided when the renewal succeeded, so the
releases move nothing more in them."""

from decimal import Decimal

import pytest
from django.urls import reverse

from oms.errors import ApplicationError
from payments import services, tasks
from payments.dashboard import attention_counters
from payments.models import RENEWAL_RELEASE, PaymentTransaction, TestProviderOperation
from payments.providers.test import TestProvider

pytestmark = pytest.mark.django_db

D = Decimal


def totals(account) -> tuple[Decimal, Decimal, Decimal, str]:
    account.refresh_from_db()
    return (
        account.authorized_amount,
        account.captured_amount,
        account.voided_amount,
        account.status,
    )


def releases_of(account) -> list[PaymentTransaction]:
    return list(account.transactions.filter(kind="void", reference=RENEWAL_RELEASE))


def at_the_gateway(release: PaymentTransaction) -> tuple[str, Decimal, str]:
    """What the gateway recorded for a release: under which reference, how much,
    with what outcome."""
    operation = TestProviderOperation.objects.get(
        idempotency_key=release.idempotency_key
    )
    return operation.authorization_reference, operation.amount, operation.outcome


def lapse_at_the_gateway(authorization: PaymentTransaction) -> None:
    """The gateway no longer knows the authorization (its hold lapsed)."""
    TestProviderOperation.objects.filter(
        operation="authorize", provider_reference=authorization.provider_reference
    ).delete()


def test_a_renewal_releases_the_old_hold_under_its_reference(open_account, events_of):
    account = open_account(amount="100.00")
    services.payment_capture(account=account, amount=D("30.00"), idempotency_key="c1")
    [first] = account.transactions.filter(kind="authorize")

    renewal = services.payment_reauthorize(account=account, idempotency_key="renew")

    [release] = releases_of(account)
    assert (release.authorization, release.amount, release.status) == (
        first,
        D("70.00"),
        "succeeded",
    )
    assert release.idempotency_key == "renew#release1"
    assert at_the_gateway(release) == (first.provider_reference, D("70"), "succeeded")
    # Counted once, at the renewal: as before releases were sent.
    assert totals(account) == (
        D("170.00"),
        D("30.00"),
        D("70.00"),
        "partially_captured",
    )
    assert events_of(account, "payment_account.amount_voided") == []
    assert events_of(account, "payment_account.amount_authorized")[-1][
        "transaction_id"
    ] == (renewal.pk)


def test_each_earlier_authorization_gets_its_own_release(open_account):
    account = open_account(amount="55.00")
    services.payment_authorize(
        account=account, amount=D("22.00"), idempotency_key="dearer-swap"
    )
    first, extra = account.transactions.filter(kind="authorize").order_by("id")
    services.payment_capture(account=account, amount=D("30.00"), idempotency_key="c1")

    renewal = services.payment_reauthorize(account=account, idempotency_key="renew")

    assert renewal.amount == D("47.00")
    assert [
        (r.authorization, r.amount, r.idempotency_key, at_the_gateway(r))
        for r in releases_of(account)
    ] == [
        (
            first,
            D("25.00"),
            "renew#release1",
            (first.provider_reference, D("25"), "succeeded"),
        ),
        (
            extra,
            D("22.00"),
            "renew#release2",
            (extra.provider_reference, D("22"), "succeeded"),
        ),
    ]
    assert totals(account) == (
        D("124.00"),
        D("30.00"),
        D("47.00"),
        "partially_captured",
    )


def test_a_capture_after_the_release_draws_on_the_renewal(open_account):
    account = open_account(amount="100.00")
    services.payment_capture(account=account, amount=D("40.00"), idempotency_key="c1")
    renewal = services.payment_reauthorize(account=account, idempotency_key="renew")

    [part] = services.payment_capture(
        account=account, amount=D("60.00"), idempotency_key="c2"
    )

    assert (part.authorization, part.status) == (renewal, "succeeded")
    assert totals(account) == (D("160.00"), D("100.00"), D("60.00"), "captured")


def test_a_renewal_that_timed_out_releases_only_once_it_succeeds(
    open_account, settings
):
    settings.OMS_PAYMENT_RETRY_BACKOFF_SECONDS = [0]
    account = open_account(amount="100.00")
    [first] = account.transactions.filter(kind="authorize")
    account.payment_token = "tok_fail_once"  # every new key fails once, then passes
    account.save(update_fields=["payment_token"])

    renewal = services.payment_reauthorize(account=account, idempotency_key="renew")

    assert renewal.status == "pending"
    assert releases_of(account) == []
    assert totals(account) == (D("100.00"), D("0.00"), D("0.00"), "authorized")

    tasks.retry_due_transactions()  # the renewal succeeds; its release fails once

    renewal.refresh_from_db()
    [release] = releases_of(account)
    assert (renewal.status, release.status) == ("succeeded", "pending")
    assert totals(account) == (D("200.00"), D("0.00"), D("100.00"), "authorized")

    tasks.retry_due_transactions()  # the release, retried like any transaction

    release.refresh_from_db()
    assert (release.status, release.attempts) == ("succeeded", 2)
    assert at_the_gateway(release) == (first.provider_reference, D("100"), "succeeded")
    assert totals(account) == (D("200.00"), D("0.00"), D("100.00"), "authorized")


def test_a_release_refused_for_good_leaves_the_books_exact(
    open_account, events_of, make_user
):
    account = open_account(amount="100.00")
    services.payment_capture(account=account, amount=D("30.00"), idempotency_key="c1")
    [first] = account.transactions.filter(kind="authorize")
    lapse_at_the_gateway(first)

    services.payment_reauthorize(account=account, idempotency_key="renew")

    [release] = releases_of(account)
    assert (release.status, release.amount) == ("failed", D("70.00"))
    assert "No authorization" in release.error
    assert totals(account) == (
        D("170.00"),
        D("30.00"),
        D("70.00"),
        "partially_captured",
    )
    assert events_of(account, "payment_account.void_failed") == []
    [failed_counter] = attention_counters(make_user("csr"))
    assert failed_counter["count"] == 0
    # The renewal holds what is left, all of it.
    services.payment_capture(account=account, amount=D("70.00"), idempotency_key="c2")
    assert totals(account) == (D("170.00"), D("100.00"), D("70.00"), "captured")


def test_the_order_page_shows_a_refused_release_without_a_retry_button(
    open_account, client, make_user
):
    account = open_account(amount="100.00")
    [first] = account.transactions.filter(kind="authorize")
    lapse_at_the_gateway(first)
    services.payment_reauthorize(account=account, idempotency_key="renew")
    [release] = releases_of(account)

    client.force_login(make_user("csr"))

    page = client.get(reverse("payments:account-detail", args=[account.pk]))

    html = page.content.decode()
    row = html.split(f'data-testid="payment-transaction-{release.pk}"')[1]
    row = row.split("</tr>")[0]
    assert "it lapses on its own" in row
    assert "Retry" not in row


def test_a_release_failed_after_its_retries_can_be_retried_by_hand(
    open_account, settings, monkeypatch
):
    settings.OMS_PAYMENT_RETRY_BACKOFF_SECONDS = []  # one attempt, then failed
    account = open_account(amount="100.00")
    [first] = account.transactions.filter(kind="authorize")
    void = TestProvider.void

    def outage(self, **arguments):
        raise ConnectionError("Gateway unreachable.")

    monkeypatch.setattr(TestProvider, "void", outage)
    services.payment_reauthorize(account=account, idempotency_key="renew")
    monkeypatch.setattr(TestProvider, "void", void)
    [release] = releases_of(account)
    assert release.status == "failed"

    retried = services.payment_transaction_retry(transaction=release)

    assert retried.status == "succeeded"
    assert at_the_gateway(retried) == (first.provider_reference, D("100"), "succeeded")
    assert totals(account) == (D("200.00"), D("0.00"), D("100.00"), "authorized")


def test_a_renewal_key_leaves_room_for_its_releases(open_account):
    account = open_account(amount="100.00")

    with pytest.raises(ApplicationError) as invalid:
        services.payment_reauthorize(account=account, idempotency_key="k" * 241)

    assert invalid.value.code == "invalid_payment_input"
    assert totals(account) == (D("100.00"), D("0.00"), D("0.00"), "authorized")
