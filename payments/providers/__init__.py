"""Payment providers: configured by name in `settings.OMS_PAYMENT_PROVIDERS`
(name → dotted class path) and chosen per channel by
`settings.OMS_CHANNEL_PAYMENT_PROVIDER`."""

from django.conf import settings
from django.utils.module_loading import import_string

from oms.errors import ApplicationError
from payments import errors
from payments.providers.base import (
    PaymentProvider,
    ProviderRequest,
    ProviderResult,
)


def provider_name_for_channel(channel: str) -> str:
    name = settings.OMS_CHANNEL_PAYMENT_PROVIDER.get(
        channel, settings.OMS_DEFAULT_PAYMENT_PROVIDER
    )
    if name not in settings.OMS_PAYMENT_PROVIDERS:
        raise ApplicationError(
            f"Channel {channel!r} uses payment provider {name!r}, which is not "
            "configured.",
            code=errors.UNKNOWN_PROVIDER,
        )
    return name


def get_provider(name: str) -> PaymentProvider:
    try:
        path = settings.OMS_PAYMENT_PROVIDERS[name]
    except KeyError:
        raise ApplicationError(
            f"Payment provider {name!r} is not configured.",
            code=errors.UNKNOWN_PROVIDER,
        ) from None
    return import_string(path)(name=name)


__all__ = [
    "ProviderRequest",
    "PaymentProvider",
    "ProviderResult",
    "get_provider",
    "provider_name_for_channel",
]
