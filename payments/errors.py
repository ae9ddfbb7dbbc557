"""Error codes of the payments app.

Every refusal is an `oms.errors.ApplicationError` (400), `Conflict` (409) or
`NotFound` (404) with one of these codes; the API and the pages show its message.
"""

from oms.errors import ApplicationError, Conflict

UNKNOWN_CURRENCY = "unknown_currency"
INVALID_AMOUNT = "invalid_amount"
INVALID_INPUT = "invalid_payment_input"
UNKNOWN_PROVIDER = "unknown_payment_provider"
PAYMENT_DECLINED = "payment_declined"
AMOUNT_EXCEEDS_CAPTURABLE = "amount_exceeds_capturable"
AMOUNT_EXCEEDS_REFUNDABLE = "amount_exceeds_refundable"
AMOUNT_EXCEEDS_AUTHORIZATION = "amount_exceeds_authorization"
AUTHORIZATION_NOT_READY = "authorization_not_ready"
IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
ACCOUNT_EXISTS = "payment_account_exists"
TRANSACTION_NOT_RETRYABLE = "transaction_not_retryable"
NOTHING_TO_REAUTHORIZE = "nothing_to_reauthorize"
AUTHORIZATION_UNCONFIRMED = "authorization_unconfirmed"


class PaymentDeclined(ApplicationError):
    """The provider refused an authorization for good; nothing was changed."""

    default_code = PAYMENT_DECLINED


class AuthorizationUnconfirmed(Conflict):
    """The provider neither approved nor declined an authorization that a change
    waits for (a timeout, an outage); nothing was changed."""

    default_code = AUTHORIZATION_UNCONFIRMED
