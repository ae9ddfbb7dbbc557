"""Payments API: read accounts and their transactions; retry a failed transaction."""

from operator import attrgetter

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.api.permissions import roles_allowed
from oms.api.schema import ERROR_RESPONSES
from oms.errors import NotFound
from oms.roles import Role
from payments import money, selectors, services
from payments.models import PaymentAccount, PaymentTransaction

ReadRoles = roles_allowed(Role.CSR, Role.INTEGRATION)
RetryRoles = roles_allowed(Role.CSR)


@extend_schema_field(
    {"type": "string", "format": "decimal", "example": "19.90", "readOnly": True}
)
class MoneyField(serializers.Field):
    """An amount as a string with its currency's minor-unit precision ("19.90")."""

    def __init__(self, *, currency_path: str = "currency", **kwargs) -> None:
        self.currency_of = attrgetter(currency_path)
        super().__init__(read_only=True, **kwargs)

    def get_attribute(self, instance):
        return super().get_attribute(instance), self.currency_of(instance)

    def to_representation(self, value) -> str:
        amount, currency = value
        return str(money.quantize(amount, currency))


class PaymentTransactionSerializer(serializers.ModelSerializer):
    amount = MoneyField(currency_path="account.currency")
    currency = serializers.CharField(source="account.currency", read_only=True)

    class Meta:
        model = PaymentTransaction
        fields = [
            "id",
            "account",
            "kind",
            "authorization",
            "replaces",
            "amount",
            "currency",
            "status",
            "idempotency_key",
            "provider_reference",
            "reference",
            "reason",
            "error",
            "attempts",
            "next_retry_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "authorization": {
                "help_text": "The authorization a capture, void or refund draws on."
            },
            "replaces": {
                "help_text": "The refused transaction this one was made again for."
            },
        }


class RetriedTransactionSerializer(PaymentTransactionSerializer):
    replaced_by = serializers.SerializerMethodField(
        help_text="Transactions made again for this one, once it was cancelled."
    )

    class Meta(PaymentTransactionSerializer.Meta):
        fields = [*PaymentTransactionSerializer.Meta.fields, "replaced_by"]
        read_only_fields = fields

    def get_replaced_by(self, transaction) -> list[int]:
        return selectors.replacements_of(transaction)


class PaymentAccountSerializer(serializers.ModelSerializer):
    authorized_amount = MoneyField()
    captured_amount = MoneyField()
    refunded_amount = MoneyField()
    voided_amount = MoneyField()
    uncaptured_amount = MoneyField(
        help_text="Authorized and neither captured nor voided."
    )

    class Meta:
        model = PaymentAccount
        fields = [
            "id",
            "owner_type",
            "owner_id",
            "currency",
            "channel",
            "provider",
            "status",
            "authorized_amount",
            "captured_amount",
            "refunded_amount",
            "voided_amount",
            "uncaptured_amount",
            "authorization_expires_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class PaymentAccountDetailSerializer(PaymentAccountSerializer):
    transactions = PaymentTransactionSerializer(many=True, read_only=True)

    class Meta(PaymentAccountSerializer.Meta):
        fields = [*PaymentAccountSerializer.Meta.fields, "transactions"]
        read_only_fields = fields


class PaymentAccountFilter(django_filters.FilterSet):
    owner_type = django_filters.CharFilter()
    owner_id = django_filters.CharFilter()
    status = django_filters.ChoiceFilter(choices=PaymentAccount.Status.choices)

    class Meta:
        model = PaymentAccount
        fields = ["owner_type", "owner_id", "status"]


class PaymentAccountListApi(ListAPIView):
    """Payment accounts, newest first; filter by owner (e.g. `owner_type=order`)."""

    permission_classes = [ReadRoles]
    serializer_class = PaymentAccountSerializer
    filterset_class = PaymentAccountFilter

    def get_queryset(self):
        return selectors.payment_account_list()

    @extend_schema(
        responses={200: PaymentAccountSerializer(many=True), **ERROR_RESPONSES}
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class PaymentAccountDetailApi(APIView):
    """One account with every transaction, oldest first."""

    permission_classes = [ReadRoles]

    @extend_schema(responses={200: PaymentAccountDetailSerializer, **ERROR_RESPONSES})
    def get(self, request, pk: int):
        account = selectors.payment_account_get(account_id=pk)
        if account is None:
            raise NotFound(f"No payment account #{pk}.")
        return Response(PaymentAccountDetailSerializer(account).data)


class PaymentTransactionRetryApi(APIView):
    """Retry a failed transaction now with its idempotency key; 409 unless failed.
    A capture, void or refund that its gateway refuses again because its
    authorization no longer holds it is cancelled and made again under the
    current authorizations: the answer lists them in `replaced_by`."""

    permission_classes = [RetryRoles]

    @extend_schema(
        request=None, responses={200: RetriedTransactionSerializer, **ERROR_RESPONSES}
    )
    def post(self, request, pk: int):
        transaction = selectors.payment_transaction_get(transaction_id=pk)
        if transaction is None:
            raise NotFound(f"No payment transaction #{pk}.")
        transaction = services.payment_transaction_retry(
            transaction=transaction, actor=request.user
        )
        return Response(RetriedTransactionSerializer(transaction).data)
