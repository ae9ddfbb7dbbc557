"""The interface every payment provider implements.

Each call moves money at most once per `idempotency_key`: calling again with the same
key returns the first outcome (a real gateway's idempotency, which the services rely
on when they retry). A provider never raises for a refusal; it returns a result:

- success: the money moved; `provider_reference` names the operation;
- not success, `transient`: try again later with the same key (timeout, outage);
- not success, not transient: refused for good (declined card, refund refused).
"""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal


@dataclass(frozen=True)
class ProviderResult:
    success: bool
    provider_reference: str = ""
    error: str = ""
    transient: bool = False


@dataclass(frozen=True)
class ProviderRequest:
    """One call's arguments: what `authorize` takes (`authorize_many`: per request)."""

    amount: Decimal
    currency: str
    payment_token: str
    idempotency_key: str


class PaymentProvider(ABC):
    def __init__(self, *, name: str) -> None:
        self.name = name

    @abstractmethod
    def authorize(
        self,
        *,
        amount: Decimal,
        currency: str,
        payment_token: str,
        idempotency_key: str,
    ) -> ProviderResult:
        """Hold `amount` on the payment method."""

    def authorize_many(
        self, requests: Sequence[ProviderRequest]
    ) -> list[ProviderResult]:
        """`authorize` for each request, one result per request in order: what an
        order import asks for. A gateway with a batch API, or a client that sends
        the requests concurrently, overrides it; each request keeps its own
        idempotency key and outcome."""
        return [self.authorize(**asdict(request)) for request in requests]

    @abstractmethod
    def capture(
        self,
        *,
        amount: Decimal,
        currency: str,
        payment_token: str,
        provider_reference: str,
        idempotency_key: str,
    ) -> ProviderResult:
        """Take `amount` of the authorization named by `provider_reference`."""

    @abstractmethod
    def refund(
        self,
        *,
        amount: Decimal,
        currency: str,
        payment_token: str,
        provider_reference: str,
        idempotency_key: str,
    ) -> ProviderResult:
        """Give back `amount` of what was captured under `provider_reference`."""

    @abstractmethod
    def void(
        self,
        *,
        amount: Decimal,
        currency: str,
        payment_token: str,
        provider_reference: str,
        idempotency_key: str,
    ) -> ProviderResult:
        """Release `amount` of the authorization named by `provider_reference`."""
