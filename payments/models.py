"""Payment accounts, their provider transactions, and the test provider's ledger.

An account holds one owner's money (an order, named by `owner_type` + `owner_id`:
payments knows nothing of orders). Its four running totals only ever grow and only
on a provider's success:

    captured + voided <= authorized      refunded <= captured

The database holds these as CHECK constraints, so not even a raw UPDATE breaks them.
"""

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django_fsm import FSMField, FSMModelMixin, transition


def amount_field(**kwargs) -> models.DecimalField:
    # Four decimals hold every supported minor unit; values are quantized to the
    # currency's own minor unit by `payments.money` before they are stored.
    return models.DecimalField(max_digits=18, decimal_places=4, **kwargs)


class AccountStatus(models.TextChoices):
    PENDING_AUTHORIZATION = "pending_authorization", "Pending authorization"
    AUTHORIZATION_FAILED = "authorization_failed", "Authorization failed"
    AUTHORIZED = "authorized", "Authorized"
    PARTIALLY_CAPTURED = "partially_captured", "Partially captured"
    CAPTURED = "captured", "Captured"
    VOIDED = "voided", "Voided"


class TransactionKind(models.TextChoices):
    AUTHORIZE = "authorize", "Authorize"
    CAPTURE = "capture", "Capture"
    REFUND = "refund", "Refund"
    VOID = "void", "Void"


class TransactionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


# The `reference` of a void that releases at the gateway the hold a renewal took
# over: the books counted that remainder as voided when the renewal succeeded.
RENEWAL_RELEASE = "renewal release"
RENEWAL_RELEASES = Q(kind=TransactionKind.VOID, reference=RENEWAL_RELEASE)


class PaymentAccount(FSMModelMixin, models.Model):
    """The authorization of one owner and what became of it.

    `status` follows the amounts (see `settled_status`): pending_authorization until
    the first authorization succeeds (authorization_failed if it could not be had),
    then authorized → partially_captured → captured, or voided when everything still
    uncaptured was released before any capture. Refunds do not change the status.
    """

    Status = AccountStatus

    owner_type = models.CharField(max_length=40)
    owner_id = models.CharField(max_length=64)
    currency = models.CharField(max_length=3)
    channel = models.CharField(max_length=60, blank=True)
    provider = models.CharField(max_length=40)
    payment_token = models.CharField(max_length=200)
    status = FSMField(
        choices=Status.choices, default=Status.PENDING_AUTHORIZATION, protected=True
    )
    authorized_amount = amount_field(default=Decimal("0"))
    captured_amount = amount_field(default=Decimal("0"))
    refunded_amount = amount_field(default=Decimal("0"))
    voided_amount = amount_field(default=Decimal("0"))
    authorization_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner_type", "owner_id"], name="payment_account_one_per_owner"
            ),
            models.CheckConstraint(
                condition=Q(status__in=AccountStatus.values),
                name="payment_account_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(authorized_amount__gte=0)
                & Q(captured_amount__gte=0)
                & Q(refunded_amount__gte=0)
                & Q(voided_amount__gte=0),
                name="payment_account_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(captured_amount__lte=F("authorized_amount")),
                name="payment_account_captured_within_authorized",
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=F("captured_amount")),
                name="payment_account_refunded_within_captured",
            ),
            models.CheckConstraint(
                condition=Q(
                    authorized_amount__gte=F("captured_amount") + F("voided_amount")
                ),
                name="payment_account_captured_voided_within_authorized",
            ),
        ]
        indexes = [
            models.Index(
                fields=["authorization_expires_at"],
                name="payment_account_expiry_idx",
                condition=Q(
                    status__in=[
                        AccountStatus.AUTHORIZED,
                        AccountStatus.PARTIALLY_CAPTURED,
                    ]
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"payment account {self.owner_type}:{self.owner_id} ({self.status})"

    @property
    def uncaptured_amount(self) -> Decimal:
        """Authorized and neither captured nor released (pending work not counted)."""
        return self.authorized_amount - self.captured_amount - self.voided_amount

    def settled_status(self) -> str:
        """The status the amounts call for, once an authorization has succeeded."""
        if self.uncaptured_amount > 0:
            if self.captured_amount > 0:
                return self.Status.PARTIALLY_CAPTURED
            return self.Status.AUTHORIZED
        if self.captured_amount > 0:
            return self.Status.CAPTURED
        return self.Status.VOIDED

    @transition(
        field=status, source=Status.PENDING_AUTHORIZATION, target=Status.AUTHORIZED
    )
    def authorize(self) -> None:
        pass

    @transition(
        field=status,
        source=Status.PENDING_AUTHORIZATION,
        target=Status.AUTHORIZATION_FAILED,
    )
    def fail_authorization(self) -> None:
        pass

    @transition(
        field=status,
        source=Status.AUTHORIZATION_FAILED,
        target=Status.PENDING_AUTHORIZATION,
    )
    def retry_authorization(self) -> None:
        pass

    @transition(
        field=status, source=Status.AUTHORIZED, target=Status.PARTIALLY_CAPTURED
    )
    def capture_partially(self) -> None:
        pass

    # Nothing left to capture and something captured: by capturing the rest or by
    # voiding what was not shipped.
    @transition(
        field=status,
        source=[Status.AUTHORIZED, Status.PARTIALLY_CAPTURED],
        target=Status.CAPTURED,
    )
    def complete_capture(self) -> None:
        pass

    @transition(field=status, source=Status.AUTHORIZED, target=Status.VOIDED)
    def void(self) -> None:
        pass

    # The owner was cancelled before its first authorization was had (still pending
    # after a timeout, or failed): nothing was authorized, nothing will be.
    @transition(
        field=status,
        source=[Status.PENDING_AUTHORIZATION, Status.AUTHORIZATION_FAILED],
        target=Status.VOIDED,
    )
    def cancel_authorization(self) -> None:
        pass

    # An additional authorization (a dearer item swapped in) after everything
    # authorized so far was captured.
    @transition(field=status, source=Status.CAPTURED, target=Status.PARTIALLY_CAPTURED)
    def reopen(self) -> None:
        pass


class PaymentTransaction(FSMModelMixin, models.Model):
    """One money movement asked of the provider, identified by its idempotency key.

    pending → succeeded / failed; a failed one can be retried by hand (→ pending);
    a pending or failed one is cancelled when its owner is (→ cancelled, for good).
    Transient provider failures keep it pending with `next_retry_at` set; a beat
    sweep retries it with the same key until `attempts_left` runs out.

    A capture, void or refund names the `authorization` it draws on; one asked of
    an account with several authorizations is split into one transaction per
    authorization it needs (see `payments.allocation`).
    """

    Kind = TransactionKind
    Status = TransactionStatus

    account = models.ForeignKey(
        PaymentAccount, on_delete=models.PROTECT, related_name="transactions"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # The authorization a capture, void or refund draws on: the provider is asked
    # to move money under that authorization's reference, and an account can hold
    # several (an extra one for a dearer item swapped in, a renewal).
    authorization = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="draws",
        limit_choices_to={"kind": TransactionKind.AUTHORIZE},
        db_index=False,  # partial index below: authorizations (most rows) draw on none
    )
    # A failed draw that its gateway refused again on a retry by hand, when its
    # authorization no longer held its amount, is cancelled and asked again under
    # the authorizations that hold it now: each new part names the one it replaces.
    replaces = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replaced_by",
        db_index=False,  # partial index below
    )
    amount = amount_field()
    # A reauthorization replaces what is left of an expiring authorization: on
    # success that much of the old one counts as voided.
    renews_amount = amount_field(default=Decimal("0"))
    status = FSMField(choices=Status.choices, default=Status.PENDING, protected=True)
    idempotency_key = models.CharField(max_length=255, unique=True)
    provider_reference = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    attempts_left = models.PositiveIntegerField(default=0)
    next_retry_at = models.DateTimeField(null=True, blank=True)
    reference = models.CharField(
        max_length=100, blank=True, help_text="What it is for: a shipment, a return."
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=TransactionStatus.values),
                name="payment_transaction_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=TransactionKind.values),
                name="payment_transaction_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="payment_transaction_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(renews_amount__gte=0) & Q(renews_amount__lte=F("amount")),
                name="payment_transaction_renews_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(kind=TransactionKind.AUTHORIZE, authorization__isnull=True)
                | (~Q(kind=TransactionKind.AUTHORIZE) & Q(authorization__isnull=False)),
                name="payment_transaction_draws_on_an_authorization",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_retry_at"],
                name="payment_transaction_due_idx",
                condition=Q(status="pending"),
            ),
            models.Index(
                fields=["account", "kind", "status"], name="payment_txn_account_idx"
            ),
            models.Index(
                fields=["authorization"],
                name="payment_txn_authorization_idx",
                condition=Q(authorization__isnull=False),
            ),
            models.Index(
                fields=["replaces"],
                name="payment_txn_replaces_idx",
                condition=Q(replaces__isnull=False),
            ),
            models.Index(
                fields=["id"],
                name="payment_transaction_failed_idx",
                condition=Q(status="failed"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} {self.amount} ({self.status})"

    @property
    def is_renewal_release(self) -> bool:
        """A void of the hold a renewal took over: it moves nothing in the books."""
        return self.kind == self.Kind.VOID and self.reference == RENEWAL_RELEASE

    @transition(field=status, source=Status.PENDING, target=Status.SUCCEEDED)
    def succeed(self) -> None:
        pass

    @transition(field=status, source=Status.PENDING, target=Status.FAILED)
    def fail(self) -> None:
        pass

    @transition(field=status, source=Status.FAILED, target=Status.PENDING)
    def retry(self) -> None:
        pass

    # Not to be attempted any more (its owner was cancelled): neither the sweep nor
    # a retry by hand picks it up again.
    @transition(
        field=status, source=[Status.PENDING, Status.FAILED], target=Status.CANCELLED
    )
    def cancel(self) -> None:
        pass


class TestProviderOperation(models.Model):
    """The built-in test gateway's own ledger (not ours): one row per idempotency
    key, so a key never moves money twice and "fail once" outlives a process."""

    __test__ = False  # not a pytest test class

    class Outcome(models.TextChoices):
        PENDING = "pending", "Not yet succeeded"
        SUCCEEDED = "succeeded", "Succeeded"
        REFUSED = "refused", "Refused"

    idempotency_key = models.CharField(max_length=255, unique=True)
    operation = models.CharField(max_length=20)
    payment_token = models.CharField(max_length=200)
    amount = amount_field()
    currency = models.CharField(max_length=3)
    attempts = models.PositiveIntegerField(default=0)
    outcome = models.CharField(
        max_length=20, choices=Outcome.choices, default=Outcome.PENDING
    )
    provider_reference = models.CharField(max_length=200, blank=True)
    # What a capture, void or refund was asked against: an authorization's
    # `provider_reference`.
    authorization_reference = models.CharField(
        max_length=200, blank=True, db_default=""
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["provider_reference"],
                name="test_gateway_authorization_idx",
                condition=Q(operation="authorize"),
            ),
            models.Index(
                fields=["authorization_reference"],
                name="test_gateway_draws_idx",
                condition=~Q(authorization_reference=""),
            ),
        ]

    def __str__(self) -> str:
        return f"test gateway {self.operation} {self.idempotency_key} ({self.outcome})"
