"""Orders API: intake (single and batch), list, detail, edit, approve, cancel,
cancel items, swap items, timeline. Views validate, call one service, serialize."""

import copy
import re
import threading
from decimal import Decimal

from django.core import validators
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.fields import SkipField, empty
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.validators import ProhibitSurrogateCharactersValidator
from rest_framework.views import APIView

from oms.api.exceptions import field_errors, renderable
from oms.api.permissions import roles_allowed
from oms.api.schema import ERROR_RESPONSES, FieldErrorsField
from oms.api.serializers import InputSerializer, RejectUnknownFieldsMixin
from oms.roles import Role
from oms.text import UNSTORABLE_CHARACTERS
from orders import selectors, services
from orders.filters import OrderFilter
from orders.intake import (
    MAX_IMPORT,
    ImportResult,
    ImportStatus,
    LineInput,
    OrderInput,
    order_create,
    orders_import,
)
from orders.models import Order, OrderLine
from payments.money import quantize

Staff = roles_allowed(Role.CSR, Role.INTEGRATION)
Integration = roles_allowed(Role.INTEGRATION)
MONEY = {"max_digits": 14, "decimal_places": 4}


def _has_children(field) -> bool:
    return (
        isinstance(field, serializers.BaseSerializer)
        or hasattr(field, "child")
        or hasattr(field, "child_relation")
    )


class FieldsOnceMixin:
    """Builds a serializer class's fields once (model introspection and declared
    fields included); each instance binds its own copies. Intake builds an input
    serializer per order and an output one per answer: rebuilding the fields each
    time cost more than the validation.

    A plain field is copied shallowly (binding sets only its own name, parent and
    source; its validators and options are read-only); one with children (a
    nested serializer, a list or dict field, a to-many relation) is deep-copied,
    as DRF does."""

    def get_fields(self):
        cls = type(self)
        prototype = cls.__dict__.get("_fields_prototype")
        if prototype is None:
            prototype = super().get_fields()
            cls._fields_prototype = prototype
        return {
            name: copy.deepcopy(field) if _has_children(field) else copy.copy(field)
            for name, field in prototype.items()
        }

    @classmethod
    def for_this_thread(cls):
        """One unbound instance per class and thread, its fields bound once, for the
        stateless calls of a hot path (`run_validation`, `to_representation`):
        copying the fields for each order cost more than validating or showing it.
        Per thread, as a gthread worker serves several requests at once."""
        instances = getattr(_per_thread, "serializers", None)
        if instances is None:
            instances = _per_thread.serializers = {}
        if cls not in instances:
            instances[cls] = cls()
        return instances[cls]


_per_thread = threading.local()


# The quick path of input validation ---------------------------------------------------


class NotPlain(Exception):
    """A payload outside the plain shapes `plain_validation` takes: DRF decides."""


_KNOWN_VALIDATORS = (
    validators.MaxLengthValidator,
    validators.MinLengthValidator,
    validators.MaxValueValidator,
    validators.MinValueValidator,
    validators.ProhibitNullCharactersValidator,
    ProhibitSurrogateCharactersValidator,
)


def _plain_text(field: serializers.CharField, value) -> str:
    if type(value) is not str:
        raise NotPlain
    text = value.strip() if field.trim_whitespace else value
    if (
        (not text and not field.allow_blank)
        or (field.max_length is not None and len(text) > field.max_length)
        or (field.min_length is not None and len(text) < field.min_length)
        or UNSTORABLE_CHARACTERS.search(text)
    ):
        raise NotPlain
    return text


def _plain_decimal(field: serializers.DecimalField, value) -> Decimal:
    # Unsigned, within the field's digits: DRF's result (its quantize only pads).
    places = field.decimal_places
    pattern = rf"\d{{1,{field.max_digits - places}}}(\.\d{{1,{places}}})?"
    if (
        type(value) is not str
        or (field.min_value is not None and field.min_value > 0)
        or field.max_value is not None
        or not re.fullmatch(pattern, value)
    ):
        raise NotPlain
    return Decimal(value).quantize(Decimal(1).scaleb(-places))


def _plain_integer(field: serializers.IntegerField, value) -> int:
    if (
        type(value) is not int
        or len(str(value)) > field.MAX_STRING_LENGTH
        or (field.min_value is not None and value < field.min_value)
        or (field.max_value is not None and value > field.max_value)
    ):
        raise NotPlain
    return value


def _plain_choice(field: serializers.ChoiceField, value) -> str:
    if type(value) is not str or value not in field.choice_strings_to_values:
        raise NotPlain
    return field.choice_strings_to_values[value]


def _plain_list(field: serializers.ListSerializer, value) -> list:
    if (
        type(value) is not list
        or (not field.allow_empty and not value)
        or (field.min_length is not None and len(value) < field.min_length)
        or (field.max_length is not None and len(value) > field.max_length)
        or field.validators
    ):
        raise NotPlain
    return [plain_validation(field.child, item) for item in value]


_PLAIN_FIELDS = {
    serializers.CharField: _plain_text,
    serializers.DecimalField: _plain_decimal,
    serializers.IntegerField: _plain_integer,
    serializers.ChoiceField: _plain_choice,
    serializers.ListSerializer: _plain_list,
}


def _field_value(field, value):
    quick = _PLAIN_FIELDS.get(type(field))
    if quick is None or not all(
        isinstance(check, _KNOWN_VALIDATORS) for check in field.validators
    ):
        try:
            return field.run_validation(value)
        except serializers.ValidationError:
            raise NotPlain from None
    return quick(field, value)


# Field by field, plus (the second) unknown keys refused: what the quick path does.
_PLAIN_TO_INTERNAL_VALUE = (
    serializers.Serializer.to_internal_value,
    RejectUnknownFieldsMixin.to_internal_value,
)


def plain_validation(serializer: serializers.Serializer, data) -> dict:
    """What `serializer.run_validation(data)` returns, for a valid payload of plain
    shapes (strings, integers, decimals as strings, lists of such objects), in a
    fraction of its time: the field definitions are the serializer's own, and
    any other field runs its own DRF validation. Anything else (a bad value, a
    float, a field with a validator of its own, a serializer with `validate`)
    raises `NotPlain`: the caller runs DRF, which also words the errors. So does
    a field the serializer does not declare (refused by `InputSerializer`).
    """
    if (
        type(data) is not dict
        or not data.keys() <= serializer.fields.keys()
        or type(serializer).validate is not serializers.Serializer.validate
        or type(serializer).to_internal_value not in _PLAIN_TO_INTERNAL_VALUE
    ):
        raise NotPlain
    validated = {}
    for name, field in serializer.fields.items():
        if field.read_only:
            continue
        value = data.get(name, empty)
        if value is empty:
            if field.required:
                raise NotPlain
            try:
                validated[name] = field.get_default()
            except SkipField:
                pass
        elif value is None:
            if not field.allow_null:
                raise NotPlain
            validated[name] = None
        else:
            validated[name] = _field_value(field, value)
    return validated


# Input --------------------------------------------------------------------------------


class LineInputSerializer(FieldsOnceMixin, InputSerializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=100_000)
    unit_price = serializers.DecimalField(min_value=0, **MONEY)
    discount = serializers.DecimalField(min_value=0, default=0, **MONEY)
    tax = serializers.DecimalField(min_value=0, default=0, **MONEY)
    final_sale = serializers.BooleanField(
        default=False, help_text="Sold as final sale: the line cannot be returned."
    )


class AddressField(serializers.DictField):
    """An address as a label prints it: text or null under each key; a number is
    taken as its text. A nested object, a list or a boolean is refused, and so
    are null characters (PostgreSQL's jsonb refuses them) and lone surrogates
    (UTF-8 cannot encode them), in keys as in values. Values are kept as sent,
    spaces included: a repeat of an order compares them as they were stored."""

    child = serializers.CharField(
        allow_blank=True,
        allow_null=True,
        trim_whitespace=False,
        error_messages={"invalid": "Must be text or null."},
    )
    default_error_messages = {
        "bad_key": "A key holds a null character or a lone surrogate.",
    }

    def to_internal_value(self, data):
        if isinstance(data, dict) and any(
            UNSTORABLE_CHARACTERS.search(str(key)) for key in data
        ):
            self.fail("bad_key")
        return super().to_internal_value(data)


class OrderInputSerializer(FieldsOnceMixin, InputSerializer):
    channel = serializers.CharField(max_length=40)
    external_id = serializers.CharField(max_length=100)
    order_type = serializers.CharField(
        max_length=20,
        default=Order.Flow.STANDARD,
        help_text="The code of an active order type (`/api/v1/order-types`).",
    )
    currency = serializers.CharField(max_length=3)
    payment_token = serializers.CharField(
        max_length=200,
        required=False,
        default="",
        allow_blank=True,
        help_text="Required unless the order is free (a total of 0).",
    )
    # Optional text: empty is "not given", as platforms send a field they lack
    # (a walk-in sale at a till has no customer name).
    customer_name = serializers.CharField(
        max_length=200, required=False, default="", allow_blank=True
    )
    customer_email = serializers.EmailField(
        max_length=254, required=False, default="", allow_blank=True
    )
    customer_phone = serializers.CharField(
        max_length=40, required=False, default="", allow_blank=True
    )
    shipping_address = AddressField(required=False, default=dict)
    pickup_location = serializers.CharField(
        max_length=32, required=False, default="", allow_blank=True
    )
    shipping_method = serializers.CharField(
        max_length=60, required=False, default="", allow_blank=True
    )
    shipping_price = serializers.DecimalField(min_value=0, default=0, **MONEY)
    shipping_tax = serializers.DecimalField(min_value=0, default=0, **MONEY)
    discount = serializers.DecimalField(min_value=0, default=0, **MONEY)
    total = serializers.DecimalField(min_value=0, required=False, **MONEY)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, default=list
    )
    fraud_score = serializers.DecimalField(
        max_digits=6,
        decimal_places=2,
        min_value=0,
        required=False,
        allow_null=True,
        default=None,
    )
    placed_at = serializers.DateTimeField(required=False, default=None)
    promise_date = serializers.DateField(required=False, default=None)
    notes = serializers.CharField(required=False, default="", allow_blank=True)
    lines = LineInputSerializer(many=True, min_length=1, max_length=500)

    def validated_input(self, data) -> OrderInput:
        """The order of a payload, by the quick path when its shapes are plain;
        a `ValidationError` with DRF's field errors when it is not valid."""
        try:
            validated = plain_validation(self, data)
        except NotPlain:
            validated = self.run_validation(data)
        return self.to_order_input(validated)

    @staticmethod
    def to_order_input(validated: dict) -> OrderInput:
        data = dict(validated)
        data["lines"] = [LineInput(**line) for line in data["lines"]]
        return OrderInput(**data)


@extend_schema_field(OpenApiTypes.OBJECT)
class ImportedOrderField(serializers.Field):
    """One order of an import, taken as it came and checked on its own: an element
    that is not even an object is reported as that order's failure, as any other
    bad order is, instead of refusing the whole import."""

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


class OrderImportSerializer(InputSerializer):
    orders = serializers.ListField(
        child=ImportedOrderField(), min_length=1, max_length=MAX_IMPORT
    )


class OrderUpdateSerializer(InputSerializer):
    customer_name = serializers.CharField(
        max_length=200, required=False, allow_blank=True
    )
    customer_email = serializers.EmailField(
        max_length=254, required=False, allow_blank=True
    )
    customer_phone = serializers.CharField(
        max_length=40, required=False, allow_blank=True
    )
    shipping_address = AddressField(required=False)
    shipping_method = serializers.CharField(
        max_length=60, required=False, allow_blank=True
    )
    notes = serializers.CharField(required=False, allow_blank=True)
    lines = LineInputSerializer(many=True, min_length=1, max_length=500, required=False)


class CommentSerializer(InputSerializer):
    comment = serializers.CharField(max_length=2000)


class ReasonSerializer(InputSerializer):
    reason = serializers.CharField(max_length=2000)


class CancelItemSerializer(InputSerializer):
    line_id = serializers.IntegerField()
    quantity = serializers.IntegerField(min_value=1)


class CancelItemsSerializer(InputSerializer):
    reason = serializers.CharField(max_length=2000)
    items = CancelItemSerializer(many=True, min_length=1)


class SwapItemsSerializer(InputSerializer):
    reason = serializers.CharField(max_length=2000)
    line_id = serializers.IntegerField()
    new_sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1)
    new_unit_price = serializers.DecimalField(min_value=0, required=False, **MONEY)


# Output -------------------------------------------------------------------------------


class CurrencyAmountsMixin:
    """Amounts are stored with 4 decimals; they are shown in the currency's minor
    unit ("19.90", "1200" for JPY)."""

    money_fields: tuple[str, ...] = ()

    def currency_of(self, instance) -> str:
        return instance.currency

    def to_representation(self, instance):
        data = super().to_representation(instance)
        currency = self.currency_of(instance)
        for name in self.money_fields:
            if data.get(name) is not None:
                data[name] = str(quantize(Decimal(data[name]), currency))
        return data


class OrderLineSerializer(
    FieldsOnceMixin, CurrencyAmountsMixin, serializers.ModelSerializer
):
    status = serializers.CharField(read_only=True)
    money_fields = (
        "unit_price", "discount", "order_discount_share", "tax", "credited_amount"
    )  # fmt: skip

    def currency_of(self, instance) -> str:
        return instance.order.currency

    class Meta:
        model = OrderLine
        fields = [
            "id", "position", "sku", "quantity", "unit_price", "discount",
            "order_discount_share", "tax", "status", "quantity_open",
            "quantity_allocated", "quantity_fulfilled", "quantity_cancelled",
            "quantity_returned", "credited_amount", "swapped_from", "final_sale",
        ]  # fmt: skip


class OrderSummarySerializer(
    FieldsOnceMixin, CurrencyAmountsMixin, serializers.ModelSerializer
):
    # A plain string in the schema: "status" enums of several apps would collide.
    status = serializers.CharField(
        read_only=True, help_text=", ".join(Order.Status.values)
    )
    money_fields = (
        "total", "shipping_price", "shipping_tax", "discount", "shipping_credited",
        "exchange_credit",
    )  # fmt: skip
    channel = serializers.CharField(source="channel.code")
    order_type = serializers.CharField(source="order_type_id")
    pickup_location = serializers.CharField(
        source="pickup_location.code", default=None, allow_null=True
    )

    class Meta:
        model = Order
        fields = [
            "id", "number", "channel", "external_id", "order_type", "status", "queue",
            "customer_name", "customer_email", "currency", "total", "placed_at",
            "pickup_location", "grace_period_ends_at", "created_at",
        ]  # fmt: skip


class OrderSerializer(OrderSummarySerializer):
    lines = OrderLineSerializer(many=True, read_only=True)

    class Meta(OrderSummarySerializer.Meta):
        fields = [
            *OrderSummarySerializer.Meta.fields,
            "customer_phone", "shipping_address", "shipping_method", "shipping_price",
            "shipping_tax", "discount", "shipping_credited", "exchange_credit", "tags",
            "fraud_score",
            "promise_date", "hold_reasons", "notes", "updated_at", "lines",
        ]  # fmt: skip


class ImportResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(
        help_text="The order's position in `orders`, from 0."
    )
    external_id = serializers.CharField(
        help_text="As sent; empty when it is not text or a number, or the order "
        "not an object."
    )
    status = serializers.ChoiceField(choices=ImportStatus.choices)
    number = serializers.CharField(
        source="order.number",
        default=None,
        allow_null=True,
        read_only=True,
        help_text="The order created or found; null when it failed.",
    )
    code = serializers.CharField(
        help_text="Why it failed: `invalid` (the body's shape), `invalid_order`, "
        "`unknown_channel`, `duplicate_external_id`, `payment_declined`...; empty "
        "unless failed."
    )
    detail = serializers.CharField(
        help_text="The same for people; empty unless failed."
    )
    errors = FieldErrorsField(
        help_text="The field errors of a failed order, as POST /api/v1/orders "
        "answers them in its 400; empty otherwise."
    )


class ImportResponseSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    existing = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = ImportResultSerializer(many=True)


class RefundPlanSerializer(CurrencyAmountsMixin, serializers.Serializer):
    money_fields = ("total", "shipping")
    currency = serializers.CharField()
    total = serializers.DecimalField(**MONEY)
    shipping = serializers.DecimalField(**MONEY)
    lines = serializers.SerializerMethodField()

    def get_lines(self, plan) -> list[dict]:
        return [
            {"line_id": pk, "amount": str(amount)} for pk, amount in plan.lines.items()
        ]


class TimelineItemSerializer(serializers.Serializer):
    kind = serializers.CharField()
    at = serializers.DateTimeField()
    name = serializers.CharField()
    payload = serializers.JSONField(required=False)
    actor = serializers.CharField(required=False)
    reason = serializers.CharField(required=False)


# Views --------------------------------------------------------------------------------


def _detail(order: Order) -> Response:
    """The order as it is now, after a change."""
    return _answer(selectors.order_get(number=order.number))


def _answer(order: Order) -> Response:
    """An order (as `order_get` loads it) with its version as the `ETag`."""
    return _tagged(Response(OrderSerializer(order).data), order)


def _tagged(response: Response, order: Order) -> Response:
    """`response` with the order's version as its `ETag`, for the next change."""
    version = services.order_version(order=order, lines=order.lines.all())
    response["ETag"] = f'"{version}"'
    return response


def _if_match(request) -> str | None:
    """The order version a change was worked out from: the `ETag` the client sends
    back as `If-Match`. The change is then refused with 409 `order_changed` if the
    order moved on since. None without the header, or with `*`. If-Match compares
    strongly: a weak tag (`W/"..."`) matches no version."""
    value = request.headers.get("If-Match", "").strip()
    if not value or value == "*":
        return None
    return value.strip('"')


IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    description="The order's `ETag` from its detail: refuse the change with 409 "
    "`order_changed` if the order changed since (another user, a shipment).",
)


class OrderListCreateApi(ListAPIView):
    """GET: orders with filters (cursor-paginated). POST: take one order in,
    idempotent by (channel, external_id): the same body again → 200 with the order;
    another body under the same external id → 409 `duplicate_external_id`."""

    serializer_class = OrderSummarySerializer
    filterset_class = OrderFilter

    def get_permissions(self):
        allowed = Integration if self.request.method == "POST" else Staff
        return [allowed()]

    def get_queryset(self):
        return selectors.order_list()

    @extend_schema(
        request=OrderInputSerializer,
        responses={
            201: OrderSerializer,
            200: OpenApiResponse(OrderSerializer, description="A repeat: the order."),
            **ERROR_RESPONSES,
        },
    )
    def post(self, request):
        data = OrderInputSerializer.for_this_thread().validated_input(request.data)
        order, created = order_create(data=data)
        return Response(
            OrderSerializer.for_this_thread().to_representation(order),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


def _refused_entry(
    index: int, raw, refusal: serializers.ValidationError
) -> ImportResult:
    """The result of an import entry that its serializer refused. It echoes what
    the client sent, its external id and the names of unknown fields, so it is
    made renderable. An external id that is not text or a number is not echoed:
    a list's or an object's Python text means nothing to the client."""
    external_id = raw.get("external_id", "") if type(raw) is dict else ""
    if not isinstance(external_id, str | int | float):
        external_id = ""
    return ImportResult(
        index=index,
        external_id=renderable(str(external_id)),
        status=ImportStatus.FAILED,
        code="invalid",
        detail="Invalid input.",
        errors=renderable(field_errors(refusal.detail)),
    )


class OrderImportApi(APIView):
    """Up to 1,000 orders at once; one result per order, in the order given. A bad
    order (field errors, declined payment) is reported and does not stop the others."""

    permission_classes = [Integration]

    @extend_schema(
        request=OrderImportSerializer,
        responses={200: ImportResponseSerializer, **ERROR_RESPONSES},
    )
    def post(self, request):
        envelope = OrderImportSerializer(data=request.data)
        envelope.is_valid(raise_exception=True)
        inputs, refused = [], []
        # One serializer checks every order (its fields are bound once), as a
        # `many=True` list would, but one bad order does not hide the others.
        checker = OrderInputSerializer.for_this_thread()
        for index, raw in enumerate(envelope.validated_data["orders"]):
            try:
                inputs.append((index, checker.validated_input(raw)))
            except serializers.ValidationError as exc:
                refused.append(_refused_entry(index, raw, exc))
        results = orders_import(orders=[data for _, data in inputs])
        for (index, _), result in zip(inputs, results, strict=True):
            result.index = index
        merged = sorted([*results, *refused], key=lambda result: result.index)
        rows = ImportResultSerializer(merged, many=True).data
        counts = dict.fromkeys(ImportStatus.values, 0)
        for row in rows:
            counts[row["status"]] += 1
        return Response({**counts, "results": rows})


class OrderDetailApi(APIView):
    permission_classes = [Staff]

    @extend_schema(responses={200: OrderSerializer, **ERROR_RESPONSES})
    def get(self, request, number: str):
        return _answer(selectors.order_get(number=number))

    @extend_schema(
        request=OrderUpdateSerializer,
        responses={200: OrderSerializer, **ERROR_RESPONSES},
        parameters=[IF_MATCH],
    )
    def patch(self, request, number: str):
        """Edit during the grace period; 409 `grace_period_over` after it."""
        order = selectors.order_get(number=number)
        serializer = OrderUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        lines = changes.pop("lines", None)
        if lines is not None:
            lines = [LineInput(**line) for line in lines]
        services.order_update(
            order=order,
            actor=request.user,
            lines=lines,
            expected_version=_if_match(request),
            **changes,
        )
        return _detail(order)


class OrderApproveApi(APIView):
    """Approve a held order by hand, with a comment."""

    permission_classes = [Staff]

    @extend_schema(
        request=CommentSerializer,
        responses={200: OrderSerializer, **ERROR_RESPONSES},
        parameters=[IF_MATCH],
    )
    def post(self, request, number: str):
        order = selectors.order_get(number=number)
        serializer = CommentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.order_approve(
            order=order,
            actor=request.user,
            comment=serializer.validated_data["comment"],
            expected_version=_if_match(request),
        )
        return _detail(order)


class OrderCancelApi(APIView):
    """Cancel the whole order (before anything ships)."""

    permission_classes = [Staff]

    @extend_schema(
        request=ReasonSerializer,
        responses={200: OrderSerializer, **ERROR_RESPONSES},
        parameters=[IF_MATCH],
    )
    def post(self, request, number: str):
        order = selectors.order_get(number=number)
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.order_cancel(
            order=order,
            actor=request.user,
            reason=serializer.validated_data["reason"],
            expected_version=_if_match(request),
        )
        return _detail(order)


class OrderCancelItemsApi(APIView):
    """Cancel chosen quantities of chosen lines; answers the money given back."""

    permission_classes = [Staff]

    @extend_schema(
        request=CancelItemsSerializer,
        responses={200: RefundPlanSerializer, **ERROR_RESPONSES},
        parameters=[IF_MATCH],
    )
    def post(self, request, number: str):
        order = selectors.order_get(number=number)
        serializer = CancelItemsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        quantities: dict[int, int] = {}
        for item in serializer.validated_data["items"]:
            quantities[item["line_id"]] = (
                quantities.get(item["line_id"], 0) + item["quantity"]
            )
        plan = services.order_lines_cancel(
            order=order,
            quantities=quantities,
            actor=request.user,
            reason=serializer.validated_data["reason"],
            expected_version=_if_match(request),
        )
        return _tagged(
            Response(RefundPlanSerializer(plan).data),
            selectors.order_get(number=number),
        )


class OrderSwapItemsApi(APIView):
    """Replace units of a line by another SKU; answers the new line."""

    permission_classes = [Staff]

    @extend_schema(
        request=SwapItemsSerializer,
        responses={200: OrderLineSerializer, **ERROR_RESPONSES},
        parameters=[IF_MATCH],
    )
    def post(self, request, number: str):
        order = selectors.order_get(number=number)
        serializer = SwapItemsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        new_line = services.order_items_swap(
            order=order,
            line_id=data["line_id"],
            new_sku=data["new_sku"],
            quantity=data["quantity"],
            new_unit_price=data.get("new_unit_price"),
            actor=request.user,
            reason=data["reason"],
            expected_version=_if_match(request),
        )
        return _tagged(
            Response(OrderLineSerializer(new_line).data),
            selectors.order_get(number=number),
        )


class OrderTimelineApi(APIView):
    permission_classes = [Staff]

    @extend_schema(
        responses={200: TimelineItemSerializer(many=True), **ERROR_RESPONSES}
    )
    def get(self, request, number: str):
        order = selectors.order_get(number=number)
        items = selectors.order_timeline(order=order)
        return Response(TimelineItemSerializer(items, many=True).data)
