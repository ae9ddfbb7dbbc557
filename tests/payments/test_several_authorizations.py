"""An account with several authorizations (the first and an extra one, as after a
dearer item swap, or a renewal): every capture, void and refund is asked of the
gateway under the authorization that holds the money, split when one is not enough.
"""

from decimal import Decimal

import pytest
from django.urls import reverse

from oms.errors import ApplicationError, Conflict
from payments import services
from payments.models import PaymentTransaction, TestProviderOperation
from payments.providers.test import TestProvider

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def two_authorizations(open_account):
    """55.00 authorized at intake, 22.00 more authorized later."""
    account = open_account(amount="55.00")
    services.payment_authorize(
        account=account, amount=D("22.00"), idempotency_key="extra"
    )
    first, extra = account.transactions.filter(kind="authorize").order_by("id")
    return account, first, extra


def drawn(parts) -> list[tuple[str, Decimal, str]]:
    """Each part as (authorization it drew on, amount, status)."""
    names = {}
    return [
        (
            names.setdefault(part.authorization_id, f"auth-{len(names) + 1}"),
            part.amount,
            part.status,
        )
        for part in parts
    ]


def gateway_reference_of(part: PaymentTransaction) -> str:
    return TestProviderOperation.objects.get(
        idempotency_key=part.idempotency_key
    ).authorization_reference


def test_capturing_more_than_one_authorization_holds_is_split_oldest_first(
    two_authorizations, events_of
):
    account, first, extra = two_authorizations

    parts = services.payment_capture(
        account=account, amount=D("77.00"), idempotency_key="ship-1"
    )

    assert [(p.authorization, p.amount, p.status) for p in parts] == [
        (first, D("55.00"), "succeeded"),
        (extra, D("22.00"), "succeeded"),
    ]
    assert [gateway_reference_of(p) for p in parts] == [
        first.provider_reference,
        extra.provider_reference,
    ]
    assert [p.idempotency_key for p in parts] == ["ship-1", "ship-1#part2"]
    assert (account.captured_amount, account.status) == (D("77.00"), "captured")
    assert [
        e["amount"] for e in events_of(account, "payment_account.amount_captured")
    ] == [
        "55.00",
        "22.00",
    ]


def test_a_capture_one_authorization_holds_draws_on_the_oldest_only(
    two_authorizations,
):
    account, first, _ = two_authorizations

    [part] = services.payment_capture(
        account=account, amount=D("30.00"), idempotency_key="ship-1"
    )

    assert (part.authorization, part.idempotency_key) == (first, "ship-1")


def test_voids_and_refunds_draw_on_what_each_authorization_has_left(
    two_authorizations,
):
    account, _, _ = two_authorizations
    services.payment_capture(account=account, amount=D("60.00"), idempotency_key="c1")

    voids = services.payment_void(
        account=account, amount=D("17.00"), idempotency_key="v1"
    )
    refunds = services.payment_refund(
        account=account, amount=D("58.00"), idempotency_key="r1"
    )

    # Captured 55.00 on the first and 5.00 on the extra one; 17.00 of the extra
    # one was left to void.
    assert drawn(voids) == [("auth-1", D("17.00"), "succeeded")]
    assert [p.authorization.amount for p in voids] == [D("22.00")]
    assert drawn(refunds) == [
        ("auth-1", D("55.00"), "succeeded"),
        ("auth-2", D("3.00"), "succeeded"),
    ]
    account.refresh_from_db()
    assert (account.captured_amount, account.voided_amount) == (D("60"), D("17"))
    assert (account.refunded_amount, account.status) == (D("58"), "captured")


def test_replaying_a_split_capture_returns_its_parts_and_moves_nothing_again(
    two_authorizations,
):
    account, _, _ = two_authorizations
    parts = services.payment_capture(
        account=account, amount=D("77.00"), idempotency_key="ship-1"
    )

    replay = services.payment_capture(
        account=account, amount=D("77.00"), idempotency_key="ship-1"
    )
    with pytest.raises(Conflict) as reused:
        services.payment_capture(
            account=account, amount=D("70.00"), idempotency_key="ship-1"
        )

    assert [p.pk for p in replay] == [p.pk for p in parts]
    assert reused.value.code == "idempotency_key_reused"
    assert "capture of 77.00 USD" in str(reused.value)
    assert TestProviderOperation.objects.filter(operation="capture").count() == 2
    account.refresh_from_db()
    assert account.captured_amount == D("77.00")


def test_after_a_renewal_captures_draw_on_the_renewal(open_account, settings):
    account = open_account(amount="100.00")
    services.payment_capture(account=account, amount=D("40.00"), idempotency_key="c1")
    renewal = services.payment_reauthorize(account=account, idempotency_key="renew")

    [part] = services.payment_capture(
        account=account, amount=D("60.00"), idempotency_key="c2"
    )

    assert renewal.amount == D("60.00")
    assert (part.authorization, part.status) == (renewal, "succeeded")
    assert gateway_reference_of(part) == renewal.provider_reference


def capture_failing_for_good(account, settings, amount, key):
    """A capture that fails after its only attempt (the card's gateway hiccups)."""
    settings.OMS_PAYMENT_RETRY_BACKOFF_SECONDS = []
    account.payment_token = "tok_fail_once"
    account.save(update_fields=["payment_token"])
    [failed] = services.payment_capture(
        account=account, amount=D(amount), idempotency_key=key
    )
    account.payment_token = "tok_approve"
    account.save(update_fields=["payment_token"])
    assert failed.status == "failed"
    return failed


def failed_while_another_capture_took_its_room(account, settings):
    """A 55.00 capture on the first authorization fails; the next capture, 22.00,
    takes room it gave up: that authorization has 33.00 left, the account 55.00."""
    failed = capture_failing_for_good(account, settings, "55.00", "c1")
    services.payment_capture(account=account, amount=D("22.00"), idempotency_key="c2")
    return failed


def test_a_failed_part_refused_again_under_its_authorization_is_made_anew(
    two_authorizations, settings, events_of
):
    account, first, extra = two_authorizations
    failed = failed_while_another_capture_took_its_room(account, settings)

    retried = services.payment_transaction_retry(transaction=failed)

    assert (retried.pk, retried.status) == (failed.pk, "cancelled")
    assert "has 33.00 left" in retried.error
    parts = account.transactions.filter(replaces=failed)
    assert [
        (p.authorization, p.amount, p.status, p.idempotency_key) for p in parts
    ] == [
        (first, D("33.00"), "succeeded", f"retry-{failed.pk}"),
        (extra, D("22.00"), "succeeded", f"retry-{failed.pk}#part2"),
    ]
    account.refresh_from_db()
    assert (account.captured_amount, account.status) == (D("77.00"), "captured")
    assert len(events_of(account, "payment_account.capture_failed")) == 2
    # The first request, replayed, moves nothing more.
    services.payment_capture(account=account, amount=D("55.00"), idempotency_key="c1")
    account.refresh_from_db()
    assert account.captured_amount == D("77.00")


def test_a_failed_capture_retried_after_a_renewal_is_made_anew_on_the_renewal(
    open_account, settings
):
    """The renewal released the first authorization's hold at the gateway: the
    capture, asked again under its own key and authorization first (an answer
    may have been lost), is refused there and made anew on the renewal."""
    account = open_account(amount="100.00")
    failed = capture_failing_for_good(account, settings, "40.00", "c1")
    renewal = services.payment_reauthorize(account=account, idempotency_key="renew")

    retried = services.payment_transaction_retry(transaction=failed)

    assert (retried.pk, retried.status) == (failed.pk, "cancelled")
    assert "has 0.00 left" in retried.error
    [part] = account.transactions.filter(replaces=failed)
    assert (part.authorization, part.amount, part.status) == (
        renewal,
        D("40.00"),
        "succeeded",
    )
    account.refresh_from_db()
    assert account.captured_amount == D("40.00")
    assert account.transactions.filter(kind="capture", status="succeeded").count() == 1


def test_a_retry_after_a_lost_answer_never_moves_the_money_twice(
    open_account, settings, monkeypatch
):
    """The gateway took the capture but its answer was lost on every attempt: the
    capture is failed on our side. A retry by hand, even after a renewal took
    over its authorization, asks under the same key and learns it was done."""
    settings.OMS_PAYMENT_RETRY_BACKOFF_SECONDS = []
    account = open_account(amount="100.00")
    capture = TestProvider.capture

    def answer_lost(self, **arguments):
        capture(self, **arguments)
        raise ConnectionError("Connection reset while reading the answer.")

    monkeypatch.setattr(TestProvider, "capture", answer_lost)
    [failed] = services.payment_capture(
        account=account, amount=D("40.00"), idempotency_key="c1"
    )
    monkeypatch.setattr(TestProvider, "capture", capture)
    services.payment_reauthorize(account=account, idempotency_key="renew")

    retried = services.payment_transaction_retry(transaction=failed)

    assert (failed.status, retried.status) == ("failed", "succeeded")
    at_the_gateway = TestProviderOperation.objects.filter(
        operation="capture", outcome="succeeded"
    )
    assert [op.amount for op in at_the_gateway] == [D("40.00")]
    account.refresh_from_db()
    assert account.captured_amount == D("40.00")


def test_the_retry_answer_names_what_was_made_again(
    two_authorizations, settings, api_client_for
):
    account, _, _ = two_authorizations
    failed = failed_while_another_capture_took_its_room(account, settings)

    response = api_client_for("csr").post(
        reverse("api:payment-transaction-retry", args=[failed.pk])
    )

    assert response.status_code == 200
    body = response.json()
    parts = list(account.transactions.filter(replaces=failed).order_by("id"))
    assert (body["amount"], body["status"]) == ("55.00", "cancelled")
    assert body["replaced_by"] == [part.pk for part in parts]


def test_the_retry_page_says_what_was_made_again(
    two_authorizations, settings, client, make_user
):
    account, _, _ = two_authorizations
    failed = failed_while_another_capture_took_its_room(account, settings)
    client.force_login(make_user("csr"))

    page = client.post(
        reverse("payments:transaction-retry", args=[failed.pk]), follow=True
    )

    first, second = account.transactions.filter(replaces=failed).order_by("id")
    assert (
        f"Capture #{failed.pk} was refused again: its authorization no longer "
        "holds it. It was asked again under the current authorizations as "
        f"#{first.pk}, #{second.pk}."
    ) in page.content.decode()
    assert f"replaces #{failed.pk}" in page.content.decode()


def test_a_movement_key_keeps_room_for_its_parts(open_account):
    account = open_account()

    with pytest.raises(ApplicationError) as refused:
        services.payment_capture(
            account=account, amount=D("1.00"), idempotency_key="k" * 241
        )

    assert refused.value.field_errors == {
        "idempotency_key": ["At most 240 characters."]
    }


def test_the_account_shows_which_authorization_each_part_drew_on(
    two_authorizations, api_client_for
):
    account, first, extra = two_authorizations
    services.payment_capture(account=account, amount=D("77.00"), idempotency_key="s1")

    response = api_client_for("csr").get(
        reverse("api:payment-account-detail", args=[account.pk])
    )

    assert [
        (t["kind"], t["authorization"], t["amount"])
        for t in response.json()["transactions"]
    ] == [
        ("authorize", None, "55.00"),
        ("authorize", None, "22.00"),
        ("capture", first.pk, "55.00"),
        ("capture", extra.pk, "22.00"),
    ]
