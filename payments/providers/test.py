"""The built-in `test` provider: a sandbox gateway with deterministic outcomes.

The payment token chooses the behaviour:

| token | behaviour |
| --- | --- |
| `tok_approve` (and any other token) | every operation succeeds |
| `tok_decline` | authorizations are declined for good |
| `tok_fail_once` | each operation fails transiently on its first attempt per key |
| `tok_timeout` | each operation times out on its first 2 attempts per key |
| `tok_refund_fail` | refunds are refused for good |

Like a real gateway it keeps its own ledger (`TestProviderOperation`): one row per
idempotency key, so a key that succeeded returns the same reference without moving
money again, and attempts are counted across processes.
"""

import uuid
from decimal import Decimal

from django.db import transaction

from payments.models import TestProviderOperation
from payments.providers.base import PaymentProvider, ProviderResult

APPROVE = "tok_approve"
DECLINE = "tok_decline"
FAIL_ONCE = "tok_fail_once"
TIMEOUT = "tok_timeout"
REFUND_FAIL = "tok_refund_fail"
TIMEOUT_ATTEMPTS = 2


class TestProvider(PaymentProvider):
    __test__ = False  # not a pytest test class

    def authorize(self, *, amount, currency, payment_token, idempotency_key):
        return self._operate(
            "authorize", amount, currency, payment_token, idempotency_key
        )

    def capture(
        self, *, amount, currency, payment_token, provider_reference, idempotency_key
    ):
        return self._operate(
            "capture", amount, currency, payment_token, idempotency_key
        )

    def refund(
        self, *, amount, currency, payment_token, provider_reference, idempotency_key
    ):
        return self._operate("refund", amount, currency, payment_token, idempotency_key)

    def void(
        self, *, amount, currency, payment_token, provider_reference, idempotency_key
    ):
        return self._operate("void", amount, currency, payment_token, idempotency_key)

    def _operate(
        self,
        operation: str,
        amount: Decimal,
        currency: str,
        payment_token: str,
        idempotency_key: str,
    ) -> ProviderResult:
        with transaction.atomic():
            record, _ = TestProviderOperation.objects.select_for_update().get_or_create(
                idempotency_key=idempotency_key,
                defaults={
                    "operation": operation,
                    "payment_token": payment_token,
                    "amount": amount,
                    "currency": currency,
                },
            )
            if (record.operation, record.amount, record.currency) != (
                operation,
                amount,
                currency,
            ):
                return ProviderResult(
                    success=False,
                    error="Idempotency key already used for another operation.",
                )
            if record.outcome == TestProviderOperation.Outcome.SUCCEEDED:
                return ProviderResult(
                    success=True, provider_reference=record.provider_reference
                )
            record.attempts += 1
            result = self._decide(operation, payment_token, record.attempts)
            if result.success:
                record.outcome = TestProviderOperation.Outcome.SUCCEEDED
                record.provider_reference = f"test_{operation}_{uuid.uuid4().hex[:16]}"
                result = ProviderResult(
                    success=True, provider_reference=record.provider_reference
                )
            elif not result.transient:
                record.outcome = TestProviderOperation.Outcome.REFUSED
            record.save()
            return result

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
        return ProviderResult(success=True)
