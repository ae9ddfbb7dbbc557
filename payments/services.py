"""Money movements: authorize, capture, void, refund, and their retries.

Every service is one transaction that first locks the account row
(`select_for_update`), so all money decisions of one account happen one at a time:
the amount checks (pending work included) and the provider call see the same state,
and two callers can never together capture more than was authorized or refund more
than was captured. The provider is called while the lock is held, which is the price
of that exactness; a call is short and bounded by the provider's own timeout.

Amounts change only when the provider reports success. Every provider call carries
the transaction's idempotency key, and calling a service again with a key it has seen
returns the existing transaction without asking the provider to move money again.

Transient provider failures leave the transaction `pending` with `next_retry_at`;
the beat sweep (`payments.retry_due_transactions`) retries it with the same key by
the back-off in `settings.OMS_PAYMENT_RETRY_BACKOFF_SECONDS`, then it is `failed`,
shown on the order page and retryable by hand.
"""

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from oms.bulk import insert_instances
from oms.errors import ApplicationError, Conflict
from oms.queueing import enqueue_on_commit
from oms.services.events import record_event, record_events
from oms.services.transitions import apply_transition
from payments import allocation, errors, money, tasks
from payments.errors import AuthorizationUnconfirmed, PaymentDeclined
from payments.models import RENEWAL_RELEASE, PaymentAccount, PaymentTransaction
from payments.providers import (
    ProviderRequest,
    ProviderResult,
    get_provider,
    provider_name_for_channel,
)
from payments.selectors import payment_account_capturable, payment_account_refundable

logger = logging.getLogger(__name__)

Kind = PaymentTransaction.Kind
AccountStatus = PaymentAccount.Status

SUCCESS_EVENTS = {
    Kind.AUTHORIZE: ("payment_account.amount_authorized", "total_authorized"),
    Kind.CAPTURE: ("payment_account.amount_captured", "total_captured"),
    Kind.VOID: ("payment_account.amount_voided", "total_voided"),
    Kind.REFUND: ("payment_account.amount_refunded", "total_refunded"),
}
FAILURE_EVENTS = {
    Kind.AUTHORIZE: "payment_account.authorization_failed",
    Kind.CAPTURE: "payment_account.capture_failed",
    Kind.VOID: "payment_account.void_failed",
    Kind.REFUND: "payment_account.refund_failed",
}
AMOUNT_FIELDS = {
    Kind.AUTHORIZE: "authorized_amount",
    Kind.CAPTURE: "captured_amount",
    Kind.VOID: "voided_amount",
    Kind.REFUND: "refunded_amount",
}
INITIAL_AUTHORIZATION = "initial"
REAUTHORIZATION = "reauthorization"
# Attempts within one request for an authorization that a change waits for: a
# gateway's passing failure (a dropped connection) usually clears on the next try.
IMMEDIATE_ATTEMPTS = 2
# A capture, void or refund split over several authorizations keys its parts
# "<key>#part2", "<key>#part3"…, and a renewal its releases of the earlier holds
# "<key>#release1", "<key>#release2"…; the room for that suffix is kept off the key.
PART_KEY_SEPARATOR = "#part"
RELEASE_KEY_SEPARATOR = "#release"
MOVEMENT_KEY_LIMIT = 240


def initial_authorization_key(*, owner_type: str, owner_id: str) -> str:
    return f"{owner_type}:{owner_id}:authorize:initial"


def max_attempts() -> int:
    return len(settings.OMS_PAYMENT_RETRY_BACKOFF_SECONDS) + 1


# Validation ------------------------------------------------------------------------


def _require_text(
    model,
    *,
    optional: tuple[str, ...] = (),
    limits: dict[str, int] | None = None,
    **values: str,
) -> None:
    """Each value a non-blank string (unless `optional`) within its column's
    length (or its `limits`); otherwise a 400 naming every bad field."""
    field_errors = {}
    for name, value in values.items():
        limit = (limits or {}).get(name) or model._meta.get_field(name).max_length
        if not isinstance(value, str) or (name not in optional and not value.strip()):
            field_errors[name] = ["This field is required."]
        elif len(value) > limit:
            field_errors[name] = [f"At most {limit} characters."]
    if field_errors:
        raise ApplicationError(
            "Some payment details are missing or invalid.",
            code=errors.INVALID_INPUT,
            field_errors=field_errors,
        )


def _display(amount: Decimal, currency: str) -> str:
    return f"{money.quantize(amount, currency)} {currency}"


# Locks and lookups -------------------------------------------------------------------


def _lock_account(account_id: int) -> PaymentAccount:
    return PaymentAccount.objects.select_for_update().get(pk=account_id)


def _replayed(
    *, account: PaymentAccount, idempotency_key: str, kind: str, amount: Decimal | None
) -> PaymentTransaction | None:
    """The transaction already made with this key, if the request is the same one
    (`amount=None`: of any amount); a key used for something else is a conflict."""
    existing = PaymentTransaction.objects.filter(
        idempotency_key=idempotency_key
    ).first()
    if existing is None:
        return None
    if (existing.account_id, existing.kind, existing.amount) != (
        account.pk,
        kind,
        existing.amount if amount is None else amount,
    ):
        raise Conflict(
            f"Idempotency key {idempotency_key!r} was already used for a "
            f"{existing.kind} of {_display(existing.amount, account.currency)}.",
            code=errors.IDEMPOTENCY_KEY_REUSED,
        )
    existing.account = account
    return existing


def _new_transaction(
    *,
    account: PaymentAccount,
    kind: str,
    amount: Decimal,
    idempotency_key: str,
    reference: str = "",
    reason: str = "",
    renews_amount: Decimal = Decimal("0"),
    authorization: PaymentTransaction | None = None,
    replaces: PaymentTransaction | None = None,
) -> PaymentTransaction:
    """A pending transaction, not saved yet: `_attempt` inserts it with the outcome
    of its first provider call (one write instead of two)."""
    return PaymentTransaction(
        account=account,
        kind=kind,
        amount=amount,
        authorization=authorization,
        replaces=replaces,
        renews_amount=renews_amount,
        idempotency_key=idempotency_key,
        reference=reference,
        reason=reason,
        attempts_left=max_attempts(),
        next_retry_at=timezone.now(),
    )


def _refresh(passed: PaymentAccount, locked: PaymentAccount) -> None:
    """Bring the caller's instance up to date with what the service saved."""
    if passed is not locked:
        passed.refresh_from_db()


# One provider attempt ----------------------------------------------------------------


def _request(account: PaymentAccount, txn: PaymentTransaction) -> ProviderRequest:
    return ProviderRequest(
        amount=money.quantize(txn.amount, account.currency),
        currency=account.currency,
        payment_token=account.payment_token,
        idempotency_key=txn.idempotency_key,
    )


def _outage(exc: Exception) -> ProviderResult:
    # A gateway client that raises (network error, bad response) is an outage to
    # retry with the same key, not a refusal.
    return ProviderResult(
        success=False, transient=True, error=f"{type(exc).__name__}: {exc}"[:1000]
    )


def _call_provider(account: PaymentAccount, txn: PaymentTransaction) -> ProviderResult:
    provider = get_provider(account.provider)
    arguments = asdict(_request(account, txn))
    try:
        if txn.kind == Kind.AUTHORIZE:
            return provider.authorize(**arguments)
        operation = getattr(provider, txn.kind)
        return operation(
            **arguments, provider_reference=txn.authorization.provider_reference
        )
    except Exception as exc:
        logger.exception("Payment provider %s raised on %s", account.provider, txn)
        return _outage(exc)


def _authorize_all(
    pending: Sequence[tuple[PaymentAccount, PaymentTransaction]],
) -> list[ProviderResult | None]:
    """The providers' answers to new accounts' first authorizations, in order:
    one `authorize_many` call per provider."""
    positions_by_provider: dict[str, list[int]] = defaultdict(list)
    for position, (account, _) in enumerate(pending):
        positions_by_provider[account.provider].append(position)
    results: list[ProviderResult | None] = [None] * len(pending)
    for name, positions in positions_by_provider.items():
        requests = [_request(*pending[position]) for position in positions]
        try:
            answers = get_provider(name).authorize_many(requests)
        except Exception as exc:
            logger.exception("Payment provider %s raised on a batch", name)
            answers = [_outage(exc)] * len(requests)
        for position, answer in zip(positions, answers, strict=True):
            results[position] = answer
    return results


def _transition(instance, name: str, *, actor=None, reason: str = "") -> None:
    # A row inserted with the outcome of its first provider call was never seen in
    # its earlier state by anyone: only changes of saved rows go to the log.
    if instance.pk is None:
        getattr(instance, name)()
    else:
        apply_transition(instance, name, actor=actor, reason=reason)


def _save(account: PaymentAccount, txn: PaymentTransaction, *fields: str) -> None:
    """Write the account (insert when new, else `fields`) and then the transaction,
    so a new account and its first transaction each take one INSERT (through
    `insert_instances`, which prepares a row for a fraction of what `save` costs)."""
    if account.pk is None:
        insert_instances([account])
    elif fields:
        account.save(update_fields=[*fields, "updated_at"])
    txn.account = account
    if txn.pk is None:
        insert_instances([txn])
    else:
        txn.save()


class _Writes:
    """Where an attempt's outcome goes: written at once (rows, then the event)."""

    def save(self, account: PaymentAccount, txn: PaymentTransaction, *fields: str):
        _save(account, txn, *fields)

    def event(self, name: str, account: PaymentAccount, payload_of) -> None:
        record_event(name, account, payload_of())


class _Batched(_Writes):
    """Outcomes of new accounts' first authorizations, inserted together by
    `flush`: the accounts in one statement, their transactions in another, then
    the events (whose payloads need the transactions' ids) in a third."""

    def __init__(self) -> None:
        self.rows: list[tuple[PaymentAccount, PaymentTransaction]] = []
        self.events: list[tuple[str, PaymentAccount, object]] = []

    def save(self, account: PaymentAccount, txn: PaymentTransaction, *fields: str):
        self.rows.append((account, txn))

    def event(self, name: str, account: PaymentAccount, payload_of) -> None:
        self.events.append((name, account, payload_of))

    def take(self, other: "_Batched") -> None:
        self.rows += other.rows
        self.events += other.events

    def flush(self) -> list[tuple[str, PaymentAccount, dict]]:
        """Insert the rows; returns their events, for the caller to record."""
        insert_instances([account for account, _ in self.rows])
        for account, txn in self.rows:
            txn.account = account
        insert_instances([txn for _, txn in self.rows])
        return [
            (name, account, payload_of()) for name, account, payload_of in self.events
        ]


WRITE_NOW = _Writes()


def _attempt(
    *,
    account: PaymentAccount,
    txn: PaymentTransaction,
    actor=None,
    writes: _Writes = WRITE_NOW,
) -> None:
    """Call the provider once for a pending transaction and record the outcome.
    The caller holds the account lock. Account and transaction may still be
    unsaved (a new account's first authorization): they are then inserted once,
    with the outcome (by `writes`: at once, or later with others)."""
    _record_outcome(
        account=account,
        txn=txn,
        result=_call_provider(account, txn),
        actor=actor,
        writes=writes,
    )


def _record_outcome(
    *,
    account: PaymentAccount,
    txn: PaymentTransaction,
    result: ProviderResult,
    actor=None,
    writes: _Writes = WRITE_NOW,
) -> None:
    """Apply the provider's answer to one attempt of a pending transaction."""
    txn.attempts += 1
    txn.attempts_left = max(txn.attempts_left - 1, 0)
    txn.error = result.error
    if result.success:
        txn.provider_reference = result.provider_reference
        txn.next_retry_at = None
        _transition(txn, "succeed", actor=actor)
        _apply_success(account=account, txn=txn, actor=actor, writes=writes)
        if txn.renews_amount:
            _release_renewed_holds(account=account, renewal=txn, actor=actor)
    elif result.transient and txn.attempts_left > 0:
        backoff = settings.OMS_PAYMENT_RETRY_BACKOFF_SECONDS
        step = min(len(backoff) - txn.attempts_left, len(backoff) - 1)
        txn.next_retry_at = timezone.now() + timedelta(seconds=backoff[max(step, 0)])
        writes.save(account, txn)
    else:
        txn.next_retry_at = None
        _transition(txn, "fail", actor=actor, reason=result.error)
        _apply_failure(account=account, txn=txn, actor=actor, writes=writes)


def _event_payload(account: PaymentAccount, txn: PaymentTransaction) -> dict:
    payload = {
        "owner_type": account.owner_type,
        "owner_id": account.owner_id,
        "currency": account.currency,
        "amount": money.quantize(txn.amount, account.currency),
        "transaction_id": txn.pk,
        "reference": txn.reference,
    }
    if txn.authorization_id is not None:
        payload["authorization_id"] = txn.authorization_id
    return payload


def _release_renewed_holds(
    *, account: PaymentAccount, renewal: PaymentTransaction, actor=None
) -> None:
    """Void at the gateway what each earlier authorization still holds, under its
    own reference, once `renewal` (which took that over) has succeeded: the card
    carries one hold, not two. Each release is attempted now; a transient failure
    is retried by the sweep like any transaction."""
    history = PaymentTransaction.objects.filter(account=account).order_by("id")
    held = allocation.held_before_renewal(history, renewal)
    key = f"{renewal.idempotency_key}{RELEASE_KEY_SEPARATOR}"
    for number, balance in enumerate(held, start=1):
        release = _new_transaction(
            account=account,
            kind=Kind.VOID,
            amount=balance.amount,
            idempotency_key=f"{key}{number}",
            reference=RENEWAL_RELEASE,
            reason=f"Released: renewed by authorization #{renewal.pk}.",
            authorization=balance.authorization,
        )
        _attempt(account=account, txn=release, actor=actor)


def _apply_success(
    *,
    account: PaymentAccount,
    txn: PaymentTransaction,
    actor=None,
    writes: _Writes = WRITE_NOW,
) -> None:
    if txn.is_renewal_release:
        # Counted as voided when the renewal succeeded (its `renews_amount`).
        writes.save(account, txn)
        return
    field = AMOUNT_FIELDS[txn.kind]
    setattr(account, field, getattr(account, field) + txn.amount)
    changed = [field, "status"]
    if txn.kind == Kind.AUTHORIZE:
        # A reauthorization replaces what was left of the expiring authorization.
        account.voided_amount += txn.renews_amount
        if account.status == AccountStatus.PENDING_AUTHORIZATION or txn.renews_amount:
            ttl = settings.OMS_AUTHORIZATION_TTL_DAYS.get(
                account.provider, settings.OMS_DEFAULT_AUTHORIZATION_TTL_DAYS
            )
            account.authorization_expires_at = timezone.now() + timedelta(days=ttl)
        changed += ["voided_amount", "authorization_expires_at"]
    _settle_status(account, actor=actor, reason=f"{txn.kind} {txn.idempotency_key}")
    writes.save(account, txn, *changed)
    name, total_key = SUCCESS_EVENTS[txn.kind]

    def payload_of() -> dict:
        payload = _event_payload(account, txn)
        payload[total_key] = money.quantize(getattr(account, field), account.currency)
        if txn.renews_amount:
            payload["renews_amount"] = money.quantize(
                txn.renews_amount, account.currency
            )
        return payload

    writes.event(name, account, payload_of)


def _settle_status(account: PaymentAccount, *, actor=None, reason: str = "") -> None:
    """Move the account to the status its amounts call for, through the one
    transition that leads there from where it is."""
    if account.status == AccountStatus.PENDING_AUTHORIZATION:
        _transition(account, "authorize", actor=actor, reason=reason)
    target = account.settled_status()
    if target != account.status:
        name = next(
            t.name
            for t in account.get_available_status_transitions()
            if t.target == target
        )
        _transition(account, name, actor=actor, reason=reason)


def _apply_failure(
    *,
    account: PaymentAccount,
    txn: PaymentTransaction,
    actor=None,
    writes: _Writes = WRITE_NOW,
) -> None:
    changed = []
    if (
        txn.kind == Kind.AUTHORIZE
        and account.status == AccountStatus.PENDING_AUTHORIZATION
    ):
        _transition(account, "fail_authorization", actor=actor, reason=txn.error)
        changed.append("status")
    writes.save(account, txn, *changed)
    if txn.is_renewal_release:
        # Nothing is owed and nothing to do: a hold the gateway will not release
        # (most often one that lapsed already) lapses on its own.
        return
    writes.event(
        FAILURE_EVENTS[txn.kind],
        account,
        lambda: {
            **_event_payload(account, txn),
            "error": txn.error,
            "attempts": txn.attempts,
        },
    )


def _raise_if_declined(txn: PaymentTransaction) -> None:
    if txn.status == PaymentTransaction.Status.FAILED:
        raise PaymentDeclined(
            f"The payment was declined: {txn.error}",
            extra={"provider_error": txn.error},
        )


def _require_capturable(account: PaymentAccount, amount: Decimal, verb: str) -> None:
    if account.status in (
        AccountStatus.PENDING_AUTHORIZATION,
        AccountStatus.AUTHORIZATION_FAILED,
    ):
        raise Conflict(
            f"Cannot {verb} while the account is "
            f"{account.get_status_display().lower()}.",
            code=errors.AUTHORIZATION_NOT_READY,
        )
    capturable = payment_account_capturable(account=account)
    if amount > capturable:
        raise Conflict(
            f"Cannot {verb} {_display(amount, account.currency)}: only "
            f"{_display(capturable, account.currency)} of the authorization is left.",
            code=errors.AMOUNT_EXCEEDS_CAPTURABLE,
            extra={"available": str(money.quantize(capturable, account.currency))},
        )


def _require_refundable(account: PaymentAccount, amount: Decimal) -> None:
    refundable = payment_account_refundable(account=account)
    if amount > refundable:
        raise Conflict(
            f"Cannot refund {_display(amount, account.currency)}: only "
            f"{_display(refundable, account.currency)} of what was captured is left "
            "to refund (refunds under way included).",
            code=errors.AMOUNT_EXCEEDS_REFUNDABLE,
            extra={"available": str(money.quantize(refundable, account.currency))},
        )


# Services ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountOpening:
    """One account to open: what `payment_account_open` takes."""

    owner_type: str
    owner_id: str
    currency: str
    amount: Decimal
    payment_token: str
    channel: str


def _new_account(
    opening: AccountOpening,
) -> tuple[PaymentAccount, PaymentTransaction]:
    """The checked, unsaved account and its pending initial authorization."""
    _require_text(
        PaymentAccount,
        owner_type=opening.owner_type,
        owner_id=opening.owner_id,
        payment_token=opening.payment_token,
        channel=opening.channel or "",
        optional=("channel",),
    )
    money.minor_units(opening.currency)
    amount = money.require_positive_amount(opening.amount, opening.currency)
    account = PaymentAccount(
        owner_type=opening.owner_type,
        owner_id=opening.owner_id,
        currency=opening.currency,
        channel=opening.channel or "",
        provider=provider_name_for_channel(opening.channel),
        payment_token=opening.payment_token,
    )
    txn = _new_transaction(
        account=account,
        kind=Kind.AUTHORIZE,
        amount=amount,
        idempotency_key=initial_authorization_key(
            owner_type=opening.owner_type, owner_id=opening.owner_id
        ),
        reference=INITIAL_AUTHORIZATION,
    )
    return account, txn


def payment_account_open(
    *,
    owner_type: str,
    owner_id: str,
    currency: str,
    amount: Decimal,
    payment_token: str,
    channel: str,
    owner_is_new: bool = False,
) -> PaymentAccount:
    """Open the owner's account and authorize `amount` with the channel's provider.

    Idempotent: the authorization's key is `"{owner_type}:{owner_id}:authorize:
    initial"`, and opening the same owner again with the same amount returns the
    account. A permanent decline raises `PaymentDeclined` and leaves nothing behind
    (the caller's transaction rolls back too). A transient failure keeps the account
    `pending_authorization` with its authorization pending, retried by the sweep.
    Locks: the owner's account row if it exists; the unique (owner_type, owner_id)
    constraint refuses a second account opened at the same moment. Inside a caller's
    transaction it takes no savepoint of its own (the new account and its first
    transaction are each inserted once, with the provider's answer): any refusal
    leaves the caller's transaction to be rolled back. `owner_is_new` says the
    caller inserted the owner in its own, still open transaction (order intake
    does): no account can exist for it yet, so the look-up is skipped; the unique
    constraint would still refuse a second account.
    """
    owner_id = str(owner_id)
    opening = AccountOpening(
        owner_type=owner_type,
        owner_id=owner_id,
        currency=currency,
        amount=amount,
        payment_token=payment_token,
        channel=channel,
    )
    account, txn = _new_account(opening)
    # No savepoint of its own: a refusal is meant to roll back the caller's whole
    # transaction (an order is not taken without its payment).
    with transaction.atomic(savepoint=False):
        existing = (
            None
            if owner_is_new
            else PaymentAccount.objects.select_for_update()
            .filter(owner_type=owner_type, owner_id=owner_id)
            .first()
        )
        if existing is not None:
            replayed = _replayed(
                account=existing,
                idempotency_key=txn.idempotency_key,
                kind=Kind.AUTHORIZE,
                amount=txn.amount,
            )
            if replayed is None or existing.currency != currency:
                raise Conflict(
                    f"{owner_type} {owner_id} already has a payment account.",
                    code=errors.ACCOUNT_EXISTS,
                )
            return existing
        try:
            _attempt(account=account, txn=txn)
        except IntegrityError as exc:
            if "payment_account_one_per_owner" not in str(exc):
                raise
            raise Conflict(
                f"A payment account for {owner_type} {owner_id} was opened at the "
                "same moment.",
                code=errors.ACCOUNT_EXISTS,
            ) from None
        _raise_if_declined(txn)
    return account


def payment_accounts_open_new(
    *,
    openings: Sequence[AccountOpening],
    events_to: list[tuple[str, PaymentAccount, dict]] | None = None,
) -> list[PaymentAccount | ApplicationError]:
    """Open accounts for owners the caller has just inserted in its own, still open
    transaction (an order import), authorizing each with its provider; one outcome
    per opening, in order: the account, or the refusal (bad details, a permanent
    decline) of that one alone, which leaves no account behind.

    The provider is asked once per account, as `payment_account_open` does; what
    the answers call for is then written together: the accounts in one INSERT,
    their authorizations in another, then the events. No locks: no account can
    exist yet for a new owner, and the unique (owner_type, owner_id) constraint
    would refuse one (rolling the caller's transaction back). With `events_to`, the
    accounts' events are appended to it instead of recorded, for the caller to
    record them with its own in one statement.
    """
    batch = _Batched()
    outcomes: list[PaymentAccount | ApplicationError] = []
    pending: list[tuple[int, PaymentAccount, PaymentTransaction]] = []
    with transaction.atomic(savepoint=False):
        for opening in openings:
            try:
                account, txn = _new_account(opening)
            except ApplicationError as exc:
                outcomes.append(exc)
                continue
            pending.append((len(outcomes), account, txn))
            outcomes.append(account)
        results = _authorize_all([(account, txn) for _, account, txn in pending])
        for (index, account, txn), result in zip(pending, results, strict=True):
            writes = _Batched()
            _record_outcome(account=account, txn=txn, result=result, writes=writes)
            try:
                _raise_if_declined(txn)
            except PaymentDeclined as exc:
                outcomes[index] = exc
                continue
            batch.take(writes)
        events = batch.flush()
        if events_to is None:
            record_events(events)
        else:
            events_to.extend(events)
    return outcomes


def _authorize_more(
    *,
    account: PaymentAccount,
    idempotency_key: str,
    amount: Decimal | None,
    new_transaction,
    needed_now: bool = False,
) -> PaymentTransaction:
    """An authorization on an account that has one already (more money, or a
    renewal): under the account lock, replay a known key, else let
    `new_transaction(locked)` check the account and make the pending transaction,
    and attempt it once. `amount=None` replays the key whatever its amount (a
    renewal's is what was left when it was asked). A decline raises.

    `needed_now`: the caller changes the order only once the money is held, so a
    transient failure is attempted again at once, and one still unconfirmed then
    raises `AuthorizationUnconfirmed` instead of waiting for the retry sweep."""
    _require_text(PaymentTransaction, idempotency_key=idempotency_key)
    with transaction.atomic():
        locked = _lock_account(account.pk)
        txn = _replayed(
            account=locked,
            idempotency_key=idempotency_key,
            kind=Kind.AUTHORIZE,
            amount=amount,
        )
        if txn is None:
            txn = new_transaction(locked)
            for _ in range(IMMEDIATE_ATTEMPTS if needed_now else 1):
                _attempt(account=locked, txn=txn)
                if txn.status != PaymentTransaction.Status.PENDING:
                    break
        _raise_if_declined(txn)
        if needed_now and txn.status != PaymentTransaction.Status.SUCCEEDED:
            raise AuthorizationUnconfirmed(
                "The payment provider did not confirm the authorization of "
                f"{_display(txn.amount, locked.currency)} ({txn.error}); nothing "
                "was changed. Try again in a moment.",
                extra={"provider_error": txn.error},
            )
        _refresh(account, locked)
    return txn


def payment_authorize(
    *, account: PaymentAccount, amount: Decimal, idempotency_key: str
) -> PaymentTransaction:
    """Authorize `amount` more on an authorized account, for a change that needs
    the money held before it is made (a dearer item swapped in, dearer lines).

    A decline raises `PaymentDeclined` and changes nothing (so does calling again
    with the key of one that failed after its retries). A transient failure is
    attempted once more at once; still unconfirmed, it raises
    `AuthorizationUnconfirmed` (409) and changes nothing, and calling again with
    the same key asks the provider again. Locks the account.
    """
    amount = money.require_positive_amount(amount, account.currency)

    def additional(locked: PaymentAccount) -> PaymentTransaction:
        if locked.status not in (
            AccountStatus.AUTHORIZED,
            AccountStatus.PARTIALLY_CAPTURED,
            AccountStatus.CAPTURED,
        ):
            raise Conflict(
                "An additional authorization needs an authorized account; this "
                f"one is {locked.get_status_display().lower()}.",
                code=errors.AUTHORIZATION_NOT_READY,
            )
        return _new_transaction(
            account=locked,
            kind=Kind.AUTHORIZE,
            amount=amount,
            idempotency_key=idempotency_key,
        )

    return _authorize_more(
        account=account,
        idempotency_key=idempotency_key,
        amount=amount,
        new_transaction=additional,
        needed_now=True,
    )


def _part_key(idempotency_key: str, number: int) -> str:
    """The key of a movement's `number`th part: the caller's key for the first."""
    if number == 1:
        return idempotency_key
    return f"{idempotency_key}{PART_KEY_SEPARATOR}{number}"


def _replayed_parts(
    *,
    account: PaymentAccount,
    history: Sequence[PaymentTransaction],
    idempotency_key: str,
    kind: str,
    amount: Decimal,
) -> list[PaymentTransaction] | None:
    """The parts already made with this key, if the request is the same one (same
    account, kind and total); a key used for something else is a conflict."""
    first = _replayed(
        account=account, idempotency_key=idempotency_key, kind=kind, amount=None
    )
    if first is None:
        return None
    prefix = f"{idempotency_key}{PART_KEY_SEPARATOR}"
    parts = [
        txn
        for txn in history
        if txn.idempotency_key == idempotency_key
        or txn.idempotency_key.startswith(prefix)
    ]
    total = sum((txn.amount for txn in parts), Decimal("0"))
    if total != amount:
        raise Conflict(
            f"Idempotency key {idempotency_key!r} was already used for a "
            f"{kind} of {_display(total, account.currency)}.",
            code=errors.IDEMPOTENCY_KEY_REUSED,
        )
    for txn in parts:
        txn.account = account
    return parts


def _balances(
    history: Sequence[PaymentTransaction], kind: str
) -> list[allocation.Balance]:
    if kind == Kind.REFUND:
        return allocation.refundable_by_authorization(history)
    return allocation.capturable_by_authorization(history)


def _require_fits(account: PaymentAccount, amount: Decimal, kind: str) -> None:
    if kind == Kind.REFUND:
        _require_refundable(account, amount)
    else:
        _require_capturable(account, amount, kind)


def _split(
    *,
    account: PaymentAccount,
    history: Sequence[PaymentTransaction],
    kind: str,
    amount: Decimal,
) -> list[tuple[PaymentTransaction, Decimal]]:
    """`amount` over the authorizations that hold it, oldest first. Within what the
    account can move (checked first), they hold it all, unless the account's
    transactions predate this split and were all sent against one authorization."""
    _require_fits(account, amount, kind)
    shares = allocation.allocate(amount, _balances(history, kind))
    held = sum((share for _, share in shares), Decimal("0"))
    if held < amount:
        raise Conflict(
            f"Cannot {kind} {_display(amount, account.currency)}: the account's "
            f"authorizations hold only {_display(held, account.currency)} of it.",
            code=errors.AMOUNT_EXCEEDS_AUTHORIZATION,
            extra={"available": str(money.quantize(held, account.currency))},
        )
    return shares


def _draw(
    *,
    account: PaymentAccount,
    kind: str,
    amount: Decimal,
    idempotency_key: str,
    reference: str = "",
    reason: str = "",
    asynchronous: bool = False,
    replaces: PaymentTransaction | None = None,
) -> list[PaymentTransaction]:
    """Capture, void or refund `amount` under the account lock: replay the parts
    made with a known key instead of moving money twice, else check the amount
    fits, split it over the authorizations it draws on, and attempt each part
    (by a task after commit when `asynchronous`). `replaces`: the refused draw
    the parts are made again for."""
    _require_text(
        PaymentTransaction,
        idempotency_key=idempotency_key,
        reference=reference,
        optional=("reference",),
        limits={"idempotency_key": MOVEMENT_KEY_LIMIT},
    )
    amount = money.require_positive_amount(amount, account.currency)
    with transaction.atomic():
        locked = _lock_account(account.pk)
        history = list(PaymentTransaction.objects.filter(account=locked).order_by("id"))
        parts = _replayed_parts(
            account=locked,
            history=history,
            idempotency_key=idempotency_key,
            kind=kind,
            amount=amount,
        )
        if parts is None:
            shares = _split(account=locked, history=history, kind=kind, amount=amount)
            parts = [
                _new_transaction(
                    account=locked,
                    kind=kind,
                    amount=share,
                    idempotency_key=_part_key(idempotency_key, number),
                    reference=reference,
                    reason=reason,
                    authorization=authorization,
                    replaces=replaces,
                )
                for number, (authorization, share) in enumerate(shares, start=1)
            ]
            for part in parts:
                if asynchronous:
                    _save(locked, part)
                    enqueue_on_commit(tasks.attempt_transaction, part.pk)
                else:
                    _attempt(account=locked, txn=part)
        _refresh(account, locked)
    return parts


def payment_capture(
    *,
    account: PaymentAccount,
    amount: Decimal,
    idempotency_key: str,
    reference: str = "",
) -> list[PaymentTransaction]:
    """Capture `amount` (at most authorized − captured − voided − captures and voids
    under way; more is a 409 and changes nothing).

    Returns one capture per authorization it draws on, oldest first (usually one).
    Success adds to `captured_amount` and records `payment_account.amount_captured`;
    a transient failure leaves that capture `pending`, retried by the sweep; a
    permanent one leaves it `failed` (visible, retryable by hand). Locks the account.
    """
    return _draw(
        account=account,
        kind=Kind.CAPTURE,
        amount=amount,
        idempotency_key=idempotency_key,
        reference=reference,
    )


def payment_void(
    *,
    account: PaymentAccount,
    amount: Decimal,
    idempotency_key: str,
    reason: str = "",
) -> list[PaymentTransaction]:
    """Release `amount` of the uncaptured authorization (same limit and parts as a
    capture).

    Voiding everything left before any capture makes the account `voided`; voiding
    the rest after a partial capture makes it `captured`. Locks the account.
    """
    return _draw(
        account=account,
        kind=Kind.VOID,
        amount=amount,
        idempotency_key=idempotency_key,
        reason=reason,
    )


def payment_authorization_cancel(
    *, account: PaymentAccount, reason: str, actor=None
) -> bool:
    """Give up the first authorization of an account that never got one (still
    pending after a provider timeout, or failed after its retries), because its
    owner is cancelled: its authorization attempts are cancelled, so neither the
    retry sweep nor a retry by hand can authorize money any more, and the account
    becomes `voided` → `payment_account.authorization_cancelled`.

    Returns False and changes nothing when the account holds an authorization by
    the time its lock is taken (a retry succeeded a moment before; the caller voids
    it as any other), or was cancelled already. Locks the account, then its
    attempts: the same order as a retry, which therefore either finishes first or
    finds its transaction cancelled.
    """
    with transaction.atomic():
        locked = _lock_account(account.pk)
        if locked.status not in (
            AccountStatus.PENDING_AUTHORIZATION,
            AccountStatus.AUTHORIZATION_FAILED,
        ):
            _refresh(account, locked)
            return False
        attempts = list(
            PaymentTransaction.objects.select_for_update().filter(
                account=locked,
                kind=Kind.AUTHORIZE,
                status__in=[
                    PaymentTransaction.Status.PENDING,
                    PaymentTransaction.Status.FAILED,
                ],
            )
        )
        for txn in attempts:
            apply_transition(txn, "cancel", actor=actor, reason=reason)
            txn.next_retry_at = None
            txn.save(update_fields=["status", "next_retry_at", "updated_at"])
        apply_transition(locked, "cancel_authorization", actor=actor, reason=reason)
        locked.save(update_fields=["status", "updated_at"])
        record_event(
            "payment_account.authorization_cancelled",
            locked,
            {
                "owner_type": locked.owner_type,
                "owner_id": locked.owner_id,
                "currency": locked.currency,
                "amount": money.quantize(
                    sum((txn.amount for txn in attempts), Decimal("0")),
                    locked.currency,
                ),
                "transaction_ids": [txn.pk for txn in attempts],
                "reason": reason,
            },
        )
        _refresh(account, locked)
    return True


def payment_refund(
    *,
    account: PaymentAccount,
    amount: Decimal,
    idempotency_key: str,
    reference: str = "",
    asynchronous: bool = False,
) -> list[PaymentTransaction]:
    """Refund `amount` (at most captured − refunded − refunds under way; more is a
    409 and changes nothing).

    Returns one refund per authorization whose captured money it gives back,
    oldest first (usually one). A pending refund counts against what can still be
    refunded from the moment it exists, so concurrent refunds can never exceed the
    captured amount. With `asynchronous=True` the provider is called by a task
    after commit. Success records `payment_account.amount_refunded`; failures are
    retried with back-off, then `failed` (`payment_account.refund_failed`). Locks
    the account.
    """
    return _draw(
        account=account,
        kind=Kind.REFUND,
        amount=amount,
        idempotency_key=idempotency_key,
        reference=reference,
        asynchronous=asynchronous,
    )


def payment_reauthorize(
    *, account: PaymentAccount, idempotency_key: str
) -> PaymentTransaction:
    """Renew an authorization nearing expiry: authorize again what is still
    uncaptured (captures and voids under way excluded); on success the old remainder
    counts as voided and the expiry starts over.

    Once it succeeds (now, or on a retry of a transient failure), each earlier
    authorization's hold is voided at the gateway under its own reference
    (`RENEWAL_RELEASE` voids keyed `<key>#release1`, …), moving nothing more in
    the books; a release refused for good is left `failed` without an event.

    A decline raises `PaymentDeclined` and changes nothing (the caller parks the
    owner), and so does calling again with the key of one that failed after its
    retries; a transient failure returns the transaction `pending`. Locks the
    account.
    """
    _require_text(
        PaymentTransaction,
        idempotency_key=idempotency_key,
        limits={"idempotency_key": MOVEMENT_KEY_LIMIT},
    )

    def renewal(locked: PaymentAccount) -> PaymentTransaction:
        remaining = payment_account_capturable(account=locked)
        if (
            locked.status
            not in (AccountStatus.AUTHORIZED, AccountStatus.PARTIALLY_CAPTURED)
            or remaining <= 0
        ):
            raise Conflict(
                "Nothing is left to reauthorize on this account.",
                code=errors.NOTHING_TO_REAUTHORIZE,
            )
        return _new_transaction(
            account=locked,
            kind=Kind.AUTHORIZE,
            amount=remaining,
            renews_amount=remaining,
            idempotency_key=idempotency_key,
            reference=REAUTHORIZATION,
        )

    return _authorize_more(
        account=account,
        idempotency_key=idempotency_key,
        amount=None,
        new_transaction=renewal,
    )


def payment_transaction_retry(
    *, transaction: PaymentTransaction, actor=None
) -> PaymentTransaction:
    """Retry a `failed` transaction by hand, now, with the same idempotency key
    (the Retry button). It must still fit: a capture or void within what is left
    of the authorization, a refund within what is left to refund. Anything but a
    failed transaction is a 409. A capture, void or refund whose own authorization
    no longer holds its amount (a renewal took over, another draw took the room)
    and that the gateway refuses again is cancelled and made again under the
    authorizations that hold it now (`replaced_by`). Returns the retried
    transaction. Locks the account, then the transaction.
    """
    return _retry_failed(transaction_id=transaction.pk, actor=actor)


def _fits_its_authorization(account: PaymentAccount, txn: PaymentTransaction) -> bool:
    """Whether a failed draw still fits what its own authorization has left (a
    renewal takes over what the earlier authorizations held; another draw may
    have taken the room it gave up when it failed)."""
    history = PaymentTransaction.objects.filter(account=account).order_by("id")
    return any(
        balance.authorization.pk == txn.authorization_id
        and balance.amount >= txn.amount
        for balance in _balances(history, txn.kind)
    )


def _redraw(*, account: PaymentAccount, txn: PaymentTransaction, actor) -> None:
    """Ask a draw the gateway refused for good (so its key moved nothing) again
    under the authorizations that hold its money now: it is cancelled, and a new
    draw keyed `retry-<id>` replaces it (its key still replays to the cancelled
    one, moving nothing)."""
    apply_transition(
        txn,
        "cancel",
        actor=actor,
        reason="Asked again under the current authorization.",
    )
    txn.save(update_fields=["status", "updated_at"])
    _draw(
        account=account,
        kind=txn.kind,
        amount=txn.amount,
        idempotency_key=f"retry-{txn.pk}",
        reference=txn.reference,
        reason=txn.reason,
        replaces=txn,
    )


def _retry_failed(*, transaction_id: int, actor) -> PaymentTransaction:
    with transaction.atomic():
        account_id = (
            PaymentTransaction.objects.filter(pk=transaction_id)
            .values_list("account_id", flat=True)
            .get()
        )
        account = _lock_account(account_id)
        txn = PaymentTransaction.objects.select_for_update().get(pk=transaction_id)
        txn.account = account
        if txn.status != PaymentTransaction.Status.FAILED:
            raise Conflict(
                f"Only a failed transaction can be retried; this one is {txn.status}.",
                code=errors.TRANSACTION_NOT_RETRYABLE,
            )
        fits = True
        if txn.kind == Kind.AUTHORIZE:
            if account.status == AccountStatus.AUTHORIZATION_FAILED:
                apply_transition(
                    account,
                    "retry_authorization",
                    actor=actor,
                    reason="Retried by hand.",
                )
                account.save(update_fields=["status", "updated_at"])
        elif not txn.is_renewal_release:  # a release moves nothing in the books
            _require_fits(account, txn.amount, txn.kind)
            fits = _fits_its_authorization(account, txn)
        apply_transition(txn, "retry", actor=actor, reason="Retried by hand.")
        txn.attempts_left = max_attempts()
        txn.save()
        # The same key first: the gateway may have moved the money on an attempt
        # whose answer was lost, and then answers it as done.
        _attempt(account=account, txn=txn, actor=actor)
        if txn.status == PaymentTransaction.Status.FAILED and not fits:
            _redraw(account=account, txn=txn, actor=actor)
    return txn


def payment_transaction_attempt(
    *, transaction_id: int, now=None
) -> PaymentTransaction | None:
    """The task's step: one provider attempt for a pending transaction that is due.
    Anything else (done, failed, not yet due, gone) is left alone, so running it
    twice is harmless. Locks the account, then the transaction."""
    now = now or timezone.now()
    with transaction.atomic():
        account_id = (
            PaymentTransaction.objects.filter(
                pk=transaction_id, status=PaymentTransaction.Status.PENDING
            )
            .values_list("account_id", flat=True)
            .first()
        )
        if account_id is None:
            return None
        account = _lock_account(account_id)
        txn = PaymentTransaction.objects.select_for_update().get(pk=transaction_id)
        if txn.status != PaymentTransaction.Status.PENDING or (
            txn.next_retry_at and txn.next_retry_at > now
        ):
            return txn
        txn.account = account
        _attempt(account=account, txn=txn)
    return txn


def payment_transactions_due(*, now=None, limit: int = 500) -> list[int]:
    """Ids of pending transactions whose next attempt is due. Rows an attempt holds
    right now are skipped (`SKIP LOCKED`), so the sweep never queues those twice."""
    now = now or timezone.now()
    with transaction.atomic():
        return list(
            PaymentTransaction.objects.select_for_update(skip_locked=True)
            .filter(status=PaymentTransaction.Status.PENDING, next_retry_at__lte=now)
            .order_by("next_retry_at")
            .values_list("pk", flat=True)[:limit]
        )
