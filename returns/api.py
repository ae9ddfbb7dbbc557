"""Returns API: list (filters), submit (idempotent), detail, retry. Views validate,
call one service, serialize."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from inventory.selectors import locations_by_code
from oms.api.permissions import roles_allowed
from oms.api.schema import ERROR_RESPONSES
from oms.api.serializers import InputSerializer
from oms.roles import Role
from orders.models import Channel, Order
from payments.money import is_known_currency, quantize
from returns import selectors, services
from returns.models import ItemCondition, Return, ReturnLine, ReturnReason, ReturnStatus

Submitters = roles_allowed(Role.CSR, Role.STORE_ASSOCIATE, Role.INTEGRATION)
Correctors = roles_allowed(Role.CSR, Role.INTEGRATION)
MONEY = {"max_digits": 14, "decimal_places": 4}


# Input --------------------------------------------------------------------------------


class ReplacementInputSerializer(InputSerializer):
    sku = serializers.CharField(
        required=False,
        max_length=64,
        default="",
        help_text="Default: the SKU returned.",
    )
    quantity = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=100_000,
        default=None,
        help_text="Default: the units returned.",
    )
    unit_price = serializers.DecimalField(
        required=False,
        min_value=0,
        default=None,
        help_text="Default: the returned line's unit price.",
        **MONEY,
    )


class ReturnItemInputSerializer(InputSerializer):
    order_line_id = serializers.IntegerField(required=False, min_value=1)
    sku = serializers.CharField(required=False, max_length=64)
    unit_price = serializers.DecimalField(required=False, min_value=0, **MONEY)
    quantity = serializers.IntegerField(min_value=1, max_value=100_000)
    reason = serializers.ChoiceField(choices=ReturnReason.choices)
    condition = serializers.ChoiceField(choices=ItemCondition.choices)
    replacement = ReplacementInputSerializer(
        required=False,
        allow_null=True,
        default=None,
        help_text="An exchange: what the customer gets instead of a refund.",
    )


class ReturnInputSerializer(InputSerializer):
    order = serializers.CharField(
        required=False, max_length=32, help_text="Order number; omit for blind."
    )
    channel = serializers.CharField(
        required=False, max_length=40, help_text="Channel code (blind returns)."
    )
    external_order_id = serializers.CharField(
        required=False, max_length=100, default=""
    )
    currency = serializers.CharField(
        required=False,
        max_length=3,
        default="",
        help_text="ISO 4217 code of a blind return's prices; for a return of an "
        "order, its currency (may be omitted).",
    )
    external_return_id = serializers.CharField(
        required=False,
        max_length=100,
        default="",
        help_text="The return's id in the calling system: a repeat answers the "
        "first return.",
    )
    location = serializers.CharField(max_length=40, help_text="Receiving location.")
    items = ReturnItemInputSerializer(many=True, min_length=1, max_length=200)

    def validate(self, data):
        errors: dict[str, list[str]] = {}
        location = locations_by_code(codes=[data["location"]]).get(data["location"])
        if location is None:
            errors["location"] = ["Unknown location."]
        order = channel = None
        if data.get("order"):
            order = (
                Order.objects.select_related("channel")
                .filter(number=data["order"])
                .first()
            )
            if order is None:
                errors["order"] = ["Unknown order."]
            elif data["currency"] and data["currency"] != order.currency:
                # A refund is made in the order's currency; a client that says
                # otherwise priced the return in another one.
                errors["currency"] = [
                    f"The order is in {order.currency}; a return of it is too."
                ]
            for index, item in enumerate(data["items"]):
                if "order_line_id" not in item:
                    errors[f"items.{index}.order_line_id"] = [
                        "Name the order line to return."
                    ]
        else:
            channel = Channel.objects.filter(code=data.get("channel", "")).first()
            if channel is None:
                errors["channel"] = ["Give the channel of a blind return."]
            if not is_known_currency(data["currency"]):
                errors["currency"] = ["Give the currency of a blind return."]
            if not data["external_order_id"].strip():
                errors["external_order_id"] = [
                    "Give the order number or the external order id."
                ]
            for index, item in enumerate(data["items"]):
                for field in ("sku", "unit_price"):
                    if field not in item:
                        errors[f"items.{index}.{field}"] = [
                            "Required for a blind return."
                        ]
        if errors:
            raise serializers.ValidationError(errors)
        return {**data, "location": location, "order": order, "channel": channel}

    def create_kwargs(self) -> dict:
        data = self.validated_data
        return {
            "order": data["order"],
            "channel": data["channel"],
            "external_order_id": data["external_order_id"],
            "external_return_id": data["external_return_id"],
            "currency": data["currency"],
            "location": data["location"],
            "items": [
                services.ReturnItemInput(
                    quantity=item["quantity"],
                    reason=item["reason"],
                    condition=item["condition"],
                    order_line_id=item.get("order_line_id"),
                    sku=item.get("sku", ""),
                    unit_price=item.get("unit_price"),
                    replacement=services.ReplacementInput(**item["replacement"])
                    if item["replacement"]
                    else None,
                )
                for item in data["items"]
            ],
        }


class ReturnRetrySerializer(InputSerializer):
    window_extension_days = serializers.IntegerField(
        min_value=0, max_value=365, default=0
    )
    comment = serializers.CharField(
        max_length=1000, allow_blank=True, default="", trim_whitespace=True
    )


class ReturnFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ReturnStatus.choices, required=False)
    location = serializers.CharField(required=False, max_length=40)
    reason = serializers.ChoiceField(choices=ReturnReason.choices, required=False)
    order = serializers.CharField(required=False, max_length=32)
    created_from = serializers.DateField(required=False)
    created_to = serializers.DateField(required=False)


# Output -------------------------------------------------------------------------------


class ReturnCheckSerializer(serializers.Serializer):
    check = serializers.CharField()
    subject = serializers.CharField()
    passed = serializers.BooleanField()
    detail = serializers.CharField()


class ReturnLineSerializer(serializers.ModelSerializer):
    refund_amount = serializers.SerializerMethodField()
    credit_amount = serializers.SerializerMethodField()

    class Meta:
        model = ReturnLine
        fields = [
            "id",
            "line_type",
            "order_line_id",
            "sku",
            "quantity",
            "unit_price",
            "reason",
            "condition",
            "refund_amount",
            "credit_amount",
            "restocked",
            "replacement_sku",
            "replacement_quantity",
            "replacement_unit_price",
        ]

    @extend_schema_field(serializers.DecimalField(**MONEY))
    def get_refund_amount(self, line: ReturnLine) -> str:
        return str(quantize(line.refund_amount, line.return_request.currency))

    @extend_schema_field(serializers.DecimalField(**MONEY))
    def get_credit_amount(self, line: ReturnLine) -> str:
        return str(quantize(line.credit_amount, line.return_request.currency))


class RefundSerializer(serializers.Serializer):
    transaction_id = serializers.IntegerField(source="pk")
    status = serializers.CharField()
    amount = serializers.DecimalField(**MONEY)
    attempts = serializers.IntegerField()
    error = serializers.CharField()


class ReturnSerializer(serializers.ModelSerializer):
    order = serializers.CharField(source="order.number", allow_null=True, default=None)
    channel = serializers.CharField(source="channel.code")
    location = serializers.CharField(source="location.code")
    total_refund_amount = serializers.SerializerMethodField()
    total_credit_amount = serializers.SerializerMethodField()
    replacement_order = serializers.CharField(
        source="replacement_order.number", allow_null=True, default=None
    )
    checks = ReturnCheckSerializer(many=True)
    lines = ReturnLineSerializer(many=True)
    refunds = serializers.SerializerMethodField()

    class Meta:
        model = Return
        fields = [
            "id",
            "rma_number",
            "status",
            "order",
            "channel",
            "external_order_id",
            "external_return_id",
            "location",
            "currency",
            "total_refund_amount",
            "total_credit_amount",
            "replacement_order",
            "checks",
            "window_extension_days",
            "correction_comment",
            "lines",
            "refunds",
            "created_at",
            "processed_at",
        ]

    @extend_schema_field(serializers.DecimalField(**MONEY))
    def get_total_refund_amount(self, ret: Return) -> str:
        return str(quantize(ret.total_refund_amount, ret.currency))

    @extend_schema_field(serializers.DecimalField(**MONEY))
    def get_total_credit_amount(self, ret: Return) -> str:
        return str(quantize(ret.total_credit_amount, ret.currency))

    @extend_schema_field(RefundSerializer(many=True))
    def get_refunds(self, ret: Return) -> list:
        return RefundSerializer(
            selectors.return_refund_transactions(return_request=ret), many=True
        ).data


class ReturnSummarySerializer(serializers.ModelSerializer):
    order = serializers.CharField(source="order.number", allow_null=True, default=None)
    location = serializers.CharField(source="location.code")
    total_refund_amount = serializers.SerializerMethodField()

    class Meta:
        model = Return
        fields = [
            "id",
            "rma_number",
            "status",
            "order",
            "external_order_id",
            "location",
            "currency",
            "total_refund_amount",
            "created_at",
        ]

    @extend_schema_field(serializers.DecimalField(**MONEY))
    def get_total_refund_amount(self, ret: Return) -> str:
        return str(quantize(ret.total_refund_amount, ret.currency))


# Views --------------------------------------------------------------------------------


def _detail(request, ret: Return) -> dict:
    return ReturnSerializer(
        selectors.return_get(user=request.user, return_id=ret.pk)
    ).data


class ReturnListCreateApi(ListAPIView):
    """GET: returns newest first (cursor-paginated), filtered by status, location,
    reason, order and creation date; a store associate sees their locations'.
    POST: submit a return and check it at once: 201 with the return `processed`
    or `failed` (the failed checks listed); a repeat of `external_return_id` on
    the channel → 200 with the first return."""

    permission_classes = [Submitters]
    serializer_class = ReturnSummarySerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Return.objects.none()
        filters = ReturnFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.return_list(
            user=self.request.user,
            filters={key: str(value) for key, value in filters.validated_data.items()},
        )

    @extend_schema(parameters=[ReturnFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=ReturnInputSerializer,
        responses={
            201: ReturnSerializer,
            200: OpenApiResponse(ReturnSerializer, description="A repeat."),
            **ERROR_RESPONSES,
        },
    )
    def post(self, request):
        serializer = ReturnInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ret, created = services.return_create(
            actor=request.user, **serializer.create_kwargs()
        )
        return Response(
            _detail(request, ret),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ReturnDetailApi(APIView):
    permission_classes = [Submitters]

    @extend_schema(responses={200: ReturnSerializer, **ERROR_RESPONSES})
    def get(self, request, pk: int):
        return Response(
            ReturnSerializer(selectors.return_get(user=request.user, return_id=pk)).data
        )


class ReturnRetryApi(APIView):
    """Check a failed return again, optionally extending its window (a comment is
    then required): 200 with the return `processed` or `failed` again; 409 when the
    return is not failed."""

    permission_classes = [Correctors]

    @extend_schema(
        request=ReturnRetrySerializer,
        responses={200: ReturnSerializer, **ERROR_RESPONSES},
    )
    def post(self, request, pk: int):
        serializer = ReturnRetrySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ret = services.return_retry(
            return_request=selectors.return_get(user=request.user, return_id=pk),
            actor=request.user,
            **serializer.validated_data,
        )
        return Response(_detail(request, ret))
