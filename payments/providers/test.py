"""The built-in `test` provider: a sandbox gateway with deterministic outcomes.

The payment token chooses the behaviour:

| token | behaviour |
| --- | --- |
| `tok_approve` (and any other token) | every operation succeeds |
| `tok_decline` | authorizations are declined for good |
| `tok_fail_once` | each operation fails transiently on its first attempt per key |
| `tok_timeout` | each operation times out on its first 2 attempts per key |
| `tok_refund_fail` | refunds are refused for good |

Like a real gateway, it refuses for good a capture or void larger than what the
authorization named by its reference has left, and a refund larger than what was
captured under it and not yet refunded.

Like a real gateway it keeps its own ledger (`TestProviderOperation`): one row per
idempotency key, so a key that succeeded returns the same reference without moving
money again, and attempts are counted across processes.
"""

import uuid
from collections.abc import Sequence
from decimal import Decimal

from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from oms.db.prepared import execute_prepared
from payments.models import TestProviderOperation
from payments.providers.base import (
    PaymentProvider,
    ProviderRequest,
    ProviderResult,
)

APPROVE = "tok_approve"
DECLINE = "tok_decline"
FAIL_ONCE = "tok_fail_once"
TIMEOUT = "tok_timeout"
REFUND_FAIL = "tok_refund_fail"
TIMEOUT_ATTEMPTS = 2
ZERO = Decimal("0")


class TestProvider(PaymentProvider):
    __test__ = False  # not a pytest test class

    def authorize(self, *, amount, currency, payment_token, idempotency_key):
        return self._operate(
            "authorize", amount, currency, payment_token, idempotency_key
        )

    def capture(self, **arguments):
        return self._draw("capture", **arguments)

    def refund(self, **arguments):
        return self._draw("refund", **arguments)

    def void(self, **arguments):
        return self._draw("void", **arguments)

    def authorize_many(self, requests):
        """One statement for the whole batch in the ledger, as a gateway's batch
        API would take it; a batch that repeats a key is taken one by one."""
        if len({request.idempotency_key for request in requests}) < len(requests):
            return super().authorize_many(requests)
        return self._operate_many("authorize", requests)

    def _operate(
        self,
        operation: str,
        amount: Decimal,
        currency: str,
        payment_token: str,
        idempotency_key: str,
        authorization_reference: str = "",
    ) -> ProviderResult:
        request = ProviderRequest(
            amount=amount,
            currency=currency,
            payment_token=payment_token,
            idempotency_key=idempotency_key,
        )
        return self._operate_many(operation, [request], authorization_reference)[0]

    def _draw(
        self,
        operation: str,
        *,
        amount: Decimal,
        currency: str,
        payment_token: str,
        provider_reference: str,
        idempotency_key: str,
    ) -> ProviderResult:
        """A capture, void or refund under the authorization `provider_reference`.
        As a real gateway does, it is refused for good when that authorization is
        unknown or has less left than `amount` (to capture or void; captured and
        not refunded, to refund). A key that succeeded is answered as before."""
        refusal = _refusal(operation, amount, provider_reference, idempotency_key)
        if refusal is not None:
            return refusal
        return self._operate(
            operation,
            amount,
            currency,
            payment_token,
            idempotency_key,
            authorization_reference=provider_reference,
        )

    def _operate_many(
        self,
        operation: str,
        requests: Sequence[ProviderRequest],
        authorization_reference: str = "",
    ) -> list[ProviderResult]:
        firsts = [self._decide(operation, r.payment_token, 1) for r in requests]
        records = self._count_attempts(
            operation, requests, firsts, authorization_reference
        )
        return [
            self._outcome(operation, request, first, records[request.idempotency_key])
            for request, first in zip(requests, firsts, strict=True)
        ]

    def _outcome(
        self,
        operation: str,
        request: ProviderRequest,
        first: ProviderResult,
        record: dict,
    ) -> ProviderResult:
        """What the gateway answers, given the key's row after this attempt."""
        if record["first_attempt"]:
            return first
        same_request = (record["operation"], record["currency"]) == (
            operation,
            request.currency,
        ) and Decimal(str(record["amount"])) == request.amount
        if not same_request:
            return ProviderResult(
                success=False,
                error="Idempotency key already used for another operation.",
            )
        if record["outcome"] == TestProviderOperation.Outcome.SUCCEEDED:
            return ProviderResult(
                success=True, provider_reference=record["provider_reference"]
            )
        result = self._decide(operation, request.payment_token, record["attempts"])
        if result.success:
            self._settle(
                record["id"],
                TestProviderOperation.Outcome.SUCCEEDED,
                result.provider_reference,
            )
        elif not result.transient:
            self._settle(record["id"], TestProviderOperation.Outcome.REFUSED, "")
        return result

    @staticmethod
    def _count_attempts(
        operation: str,
        requests: Sequence[ProviderRequest],
        firsts: Sequence[ProviderResult],
        authorization_reference: str,
    ) -> dict[str, dict]:
        """Record one more attempt for each key, creating its row on the first, in
        one statement (concurrent calls with one key count each attempt once).
        Returns each key's row. A first attempt is stored with its outcome
        (`firsts`) at once; an operation that succeeded counts no more attempts: it
        is only replayed. A row that a later call updated has a newer `updated_at`
        than its `created_at` (this works on SQLite too, unlike PostgreSQL's
        `xmax`)."""
        table = TestProviderOperation._meta.db_table
        now = timezone.now()
        rows = ", ".join(
            ["(%s, %s, %s, %s, %s, 1, %s, %s, %s, %s, %s)"] * len(requests)
        )
        sql = f"""
            INSERT INTO {table} (idempotency_key, operation, payment_token, amount,
                currency, attempts, outcome, provider_reference,
                authorization_reference, created_at, updated_at)
            VALUES {rows}
            ON CONFLICT (idempotency_key) DO UPDATE SET
                attempts = CASE WHEN {table}.outcome = %s THEN {table}.attempts
                    ELSE {table}.attempts + 1 END,
                updated_at = EXCLUDED.updated_at
            RETURNING idempotency_key, id, operation, amount, currency, attempts,
                outcome, provider_reference, (created_at = updated_at) AS first_attempt
        """
        params = [
            value
            for request, first in zip(requests, firsts, strict=True)
            for value in (
                request.idempotency_key,
                operation,
                request.payment_token,
                request.amount,
                request.currency,
                _outcome_of(first),
                first.provider_reference,
                authorization_reference,
                now,
                now,
            )
        ]
        params.append(TestProviderOperation.Outcome.SUCCEEDED)
        with connection.cursor() as cursor:
            execute_prepared(cursor, sql, params)
            columns = [column[0] for column in cursor.description]
            records = [dict(zip(columns, row, strict=True)) for row in cursor]
        return {record["idempotency_key"]: record for record in records}

    @staticmethod
    def _settle(record_id: int, outcome: str, reference: str) -> None:
        TestProviderOperation.objects.filter(pk=record_id).update(
            outcome=outcome, provider_reference=reference, updated_at=timezone.now()
        )

    @staticmethod
    def _decide(operation: str, token: str, attempt: int) -> ProviderResult:
        if token == FAIL_ONCE and attempt == 1:
            return ProviderResult(
                success=False, transient=True, error="Gateway unavailable (503)."
            )
        if token == TIMEOUT and attempt <= TIMEOUT_ATTEMPTS:
            return ProviderResult(
                success=False, transient=True, error="Gateway timed out."
            )
        if token == DECLINE and operation == "authorize":
            return ProviderResult(success=False, error="Card declined.")
        if token == REFUND_FAIL and operation == "refund":
            return ProviderResult(success=False, error="Refund refused by the issuer.")
        return ProviderResult(
            success=True, provider_reference=f"test_{operation}_{uuid.uuid4().hex[:16]}"
        )


def _outcome_of(result: ProviderResult) -> str:
    if result.success:
        return TestProviderOperation.Outcome.SUCCEEDED
    if result.transient:
        return TestProviderOperation.Outcome.PENDING
    return TestProviderOperation.Outcome.REFUSED


def _refusal(
    operation: str, amount: Decimal, reference: str, idempotency_key: str
) -> ProviderResult | None:
    """Why the gateway refuses a new draw on the authorization `reference`, if it
    does. Locks the authorization's row, so draws on it are decided one at a
    time."""
    operations = TestProviderOperation.objects
    succeeded = TestProviderOperation.Outcome.SUCCEEDED
    if operations.filter(idempotency_key=idempotency_key, outcome=succeeded).exists():
        return None
    authorization = (
        operations.select_for_update()
        .filter(operation="authorize", outcome=succeeded, provider_reference=reference)
        .first()
    )
    if authorization is None:
        return ProviderResult(
            success=False, error=f"No authorization {reference!r} to {operation}."
        )
    drawn = dict(
        operations.filter(authorization_reference=reference, outcome=succeeded)
        .values("operation")
        .annotate(total=Sum("amount"))
        .values_list("operation", "total")
    )
    if operation == "refund":
        left = drawn.get("capture", ZERO) - drawn.get("refund", ZERO)
    else:
        taken = drawn.get("capture", ZERO) + drawn.get("void", ZERO)
        left = authorization.amount - taken
    if amount > left:
        return ProviderResult(
            success=False,
            error=f"Cannot {operation} {amount}: authorization {reference} has "
            f"{left.quantize(amount)} left for it.",
        )
    return None
