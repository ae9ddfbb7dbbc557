"""Inventory API under /api/v1/: thin views that validate, call one service and
serialize.

Decisions a client needs to know:

- Receiving more than an ASN expects is refused (400 `over_receipt`) unless the
  request sets `allow_over_receipt: true`; the extra units are then booked and the
  receipt is flagged. Transfer orders never take more than is in transit.
- Cycle counts measure discrepancies against the ledger's on_hand at the moment of
  counting (`counted_at`, default: submission) and approval posts the difference on
  top of live stock, so sales and receipts during the count are kept.
- Store associates act only at the locations they are assigned to.
"""

from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from inventory import selectors, services
from inventory.models import (
    Asn,
    CycleCount,
    InventoryTransaction,
    Location,
    Product,
    Receipt,
    StockLevel,
    StockSync,
    TransferOrder,
)
from oms.api.permissions import roles_allowed, roles_by_method
from oms.api.schema import ERROR_RESPONSES
from oms.api.serializers import InputModelSerializer, InputSerializer
from oms.errors import ApplicationError, PermissionDenied
from oms.params import text_param
from oms.roles import Role
from oms.services.transitions import allowed_transitions

MAX_UNITS = services.MAX_UNITS
READ_ROLES = (Role.CSR, Role.STORE_ASSOCIATE, Role.INVENTORY_MANAGER, Role.INTEGRATION)
STAFF_ROLES = (Role.STORE_ASSOCIATE, Role.INVENTORY_MANAGER, Role.INTEGRATION)
MANAGER_ROLES = (Role.INVENTORY_MANAGER, Role.INTEGRATION)


def ensure_location_access(user, location: Location) -> None:
    if not selectors.user_may_act_at(user=user, location=location):
        raise PermissionDenied(
            f"You are not assigned to location {location.code}.",
            code="location_not_assigned",
        )


# Fields and small serializers -------------------------------------------------------


class CodeField(serializers.SlugRelatedField):
    """Looks a row up by its code; refuses text PostgreSQL cannot compare."""

    def to_internal_value(self, data):
        if not isinstance(data, str) or "\x00" in data:
            self.fail("invalid")
        return super().to_internal_value(data)


class SkuField(CodeField):
    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Product.objects.all())
        kwargs.setdefault("error_messages", {"does_not_exist": "Unknown SKU {value}."})
        super().__init__(slug_field="sku", **kwargs)


class LocationCodeField(CodeField):
    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Location.objects.all())
        kwargs.setdefault(
            "error_messages", {"does_not_exist": "Unknown location {value}."}
        )
        super().__init__(slug_field="code", **kwargs)


class ItemInputSerializer(InputSerializer):
    sku = SkuField()
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_UNITS)


def items_of(validated: list[dict]) -> list[services.ItemQuantity]:
    return [services.ItemQuantity(item["sku"], item["quantity"]) for item in validated]


class ItemOutputSerializer(serializers.Serializer):
    sku = serializers.CharField(source="product.sku")
    quantity = serializers.IntegerField()


class ProductSerializer(InputModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "sku", "name", "barcode", "active", "attributes"]
        read_only_fields = ["id"]
        extra_kwargs = {"sku": {"validators": []}}


class LocationSerializer(InputModelSerializer):
    class Meta:
        model = Location
        fields = [
            "id",
            "code",
            "name",
            "type",
            "address_line1",
            "address_line2",
            "city",
            "region",
            "postal_code",
            "country",
            "latitude",
            "longitude",
            "can_ship",
            "can_pickup",
            "routing_priority",
            "safety_stock",
            "active",
        ]
        read_only_fields = ["id"]
        extra_kwargs = {
            "code": {"validators": []},
            "latitude": {"min_value": -90, "max_value": 90},
            "longitude": {"min_value": -180, "max_value": 180},
        }


class StockLevelSerializer(serializers.ModelSerializer):
    location = serializers.CharField(source="location.code")
    sku = serializers.CharField(source="product.sku")
    product_name = serializers.CharField(source="product.name")
    safety_stock = serializers.IntegerField(source="location.safety_stock")
    available = serializers.IntegerField()

    class Meta:
        model = StockLevel
        fields = [
            "id",
            "location",
            "sku",
            "product_name",
            "on_hand",
            "reserved",
            "safety_stock",
            "available",
            "updated_at",
        ]


class LedgerSerializer(serializers.ModelSerializer):
    location = serializers.CharField(source="location.code")
    sku = serializers.CharField(source="product.sku")
    actor = serializers.CharField(
        source="actor.username", default=None, allow_null=True
    )

    class Meta:
        model = InventoryTransaction
        fields = [
            "id",
            "type",
            "location",
            "sku",
            "quantity",
            "on_hand_after",
            "reference",
            "reason",
            "note",
            "actor",
            "created_at",
        ]


# Products, locations, stock, ledger ---------------------------------------------------


class ProductFilter(filters.FilterSet):
    sku = filters.CharFilter()
    search = filters.CharFilter(method="filter_search")

    class Meta:
        model = Product
        fields = ["sku", "active", "barcode"]

    def filter_search(self, queryset, name, value):
        return queryset.filter(pk__in=selectors.product_list(search=value))


class ProductListCreateApi(ListAPIView):
    """Products; POST creates one (inventory managers and integrations)."""

    serializer_class = ProductSerializer
    filterset_class = ProductFilter

    permission_classes = [roles_by_method(read=READ_ROLES, write=MANAGER_ROLES)]

    def get_queryset(self):
        return selectors.product_list()

    @extend_schema(
        request=ProductSerializer, responses={201: ProductSerializer, **ERROR_RESPONSES}
    )
    def post(self, request):
        serializer = ProductSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = services.product_create(**serializer.validated_data)
        return Response(ProductSerializer(product).data, status=status.HTTP_201_CREATED)


class ProductDetailApi(APIView):
    permission_classes = [roles_allowed(*READ_ROLES)]

    @extend_schema(responses={200: ProductSerializer, **ERROR_RESPONSES})
    def get(self, request, sku: str):
        product = get_object_or_404(Product, sku=sku.replace("\x00", "\ufffd"))
        return Response(ProductSerializer(product).data)


class LocationFilter(filters.FilterSet):
    class Meta:
        model = Location
        fields = ["code", "type", "active", "can_ship", "can_pickup"]


class LocationListCreateApi(ListAPIView):
    """Stores and DCs; POST creates one (inventory managers and integrations)."""

    serializer_class = LocationSerializer
    filterset_class = LocationFilter

    permission_classes = [roles_by_method(read=READ_ROLES, write=MANAGER_ROLES)]

    def get_queryset(self):
        return selectors.location_list()

    @extend_schema(
        request=LocationSerializer,
        responses={201: LocationSerializer, **ERROR_RESPONSES},
    )
    def post(self, request):
        serializer = LocationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        location = services.location_create(**serializer.validated_data)
        return Response(
            LocationSerializer(location).data, status=status.HTTP_201_CREATED
        )


class LocationDetailApi(APIView):
    permission_classes = [roles_allowed(*READ_ROLES)]

    @extend_schema(responses={200: LocationSerializer, **ERROR_RESPONSES})
    def get(self, request, code: str):
        location = get_object_or_404(Location, code=code.replace("\x00", "\ufffd"))
        return Response(LocationSerializer(location).data)


class StockListApi(ListAPIView):
    """Stock levels with `available` = on_hand - reserved - safety stock (never
    below 0). Filter by location code, SKU, and `in_stock=true` (available > 0)."""

    permission_classes = [roles_allowed(*READ_ROLES)]
    serializer_class = StockLevelSerializer
    filter_backends: list = []

    @extend_schema(
        parameters=[
            OpenApiParameter("location", str, description="Location code"),
            OpenApiParameter("sku", str),
            OpenApiParameter("in_stock", bool, description="Only available > 0"),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        return selectors.stock_list(
            location_code=text_param(params, "location"),
            sku=text_param(params, "sku"),
            in_stock=text_param(params, "in_stock").lower() in {"1", "true", "yes"},
        )


class LedgerListApi(ListAPIView):
    """The stock ledger, newest first."""

    permission_classes = [roles_allowed(*READ_ROLES)]
    serializer_class = LedgerSerializer
    filter_backends: list = []

    @extend_schema(
        parameters=[
            OpenApiParameter("location", str, description="Location code"),
            OpenApiParameter("sku", str),
            OpenApiParameter("type", str, enum=InventoryTransaction.Type.values),
            OpenApiParameter("reference", str),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        return selectors.visible_to(
            selectors.ledger_list(
                location_code=text_param(params, "location"),
                sku=text_param(params, "sku"),
                type=text_param(params, "type"),
                reference=text_param(params, "reference"),
            ),
            user=self.request.user,
        )


# Receipts -----------------------------------------------------------------------------


class ReceiptInputSerializer(InputSerializer):
    location = LocationCodeField()
    reference_type = serializers.ChoiceField(choices=Receipt.ReferenceType.choices)
    reference = serializers.CharField(max_length=100)
    items = ItemInputSerializer(many=True, allow_empty=False)
    allow_over_receipt = serializers.BooleanField(default=False)


class ReceiptSerializer(serializers.ModelSerializer):
    location = serializers.CharField(source="location.code")
    items = ItemOutputSerializer(source="lines", many=True)
    actor = serializers.CharField(
        source="actor.username", default=None, allow_null=True
    )

    class Meta:
        model = Receipt
        fields = [
            "id",
            "location",
            "reference_type",
            "reference",
            "over_receipt",
            "items",
            "actor",
            "created_at",
        ]


class ReceiptListCreateApi(ListAPIView):
    """Receipts; POST receives units against an ASN, a purchase order or a
    transfer order. More than an ASN expects is refused (400 `over_receipt`)
    unless `allow_over_receipt` is true; a transfer order never takes more than
    is in transit."""

    serializer_class = ReceiptSerializer
    filter_backends: list = []

    permission_classes = [roles_by_method(read=READ_ROLES, write=STAFF_ROLES)]

    def get_queryset(self):
        return selectors.visible_to(selectors.receipt_list(), user=self.request.user)

    @extend_schema(
        request=ReceiptInputSerializer,
        responses={201: ReceiptSerializer, **ERROR_RESPONSES},
    )
    def post(self, request):
        data = _valid(ReceiptInputSerializer, request)
        ensure_location_access(request.user, data["location"])
        receipt = services.items_receive(
            location=data["location"],
            reference_type=data["reference_type"],
            reference=data["reference"],
            items=items_of(data["items"]),
            allow_over_receipt=data["allow_over_receipt"],
            actor=request.user,
        )
        return Response(ReceiptSerializer(receipt).data, status=status.HTTP_201_CREATED)


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# ASNs ---------------------------------------------------------------------------------


class AsnLineSerializer(serializers.Serializer):
    sku = serializers.CharField(source="product.sku")
    expected = serializers.IntegerField(source="expected_quantity")
    received = serializers.IntegerField(source="received_quantity")


class AsnSerializer(serializers.ModelSerializer):
    location = serializers.CharField(source="location.code")
    transfer_order = serializers.CharField(
        source="transfer_order.number", default=None, allow_null=True
    )
    lines = AsnLineSerializer(many=True)
    allowed_actions = serializers.SerializerMethodField()

    class Meta:
        model = Asn
        fields = [
            "id",
            "number",
            "location",
            "supplier",
            "transfer_order",
            "expected_at",
            "auto_close",
            "status",
            "lines",
            "allowed_actions",
            "created_at",
            "closed_at",
        ]

    def get_allowed_actions(self, asn) -> list[str]:
        return allowed_transitions(asn)


class AsnInputSerializer(InputSerializer):
    location = LocationCodeField()
    number = serializers.CharField(max_length=50, required=False, default="")
    supplier = serializers.CharField(max_length=200, required=False, default="")
    expected_at = serializers.DateField(required=False, allow_null=True, default=None)
    auto_close = serializers.BooleanField(default=True)
    items = ItemInputSerializer(many=True, allow_empty=False)


class AsnListCreateApi(ListAPIView):
    serializer_class = AsnSerializer
    filter_backends: list = []

    permission_classes = [roles_by_method(read=READ_ROLES, write=MANAGER_ROLES)]

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=Asn.Status.values),
            OpenApiParameter("location", str, description="Location code"),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        return selectors.visible_to(
            selectors.asn_list(
                status=text_param(params, "status"),
                location_code=text_param(params, "location"),
            ),
            user=self.request.user,
        )

    @extend_schema(
        request=AsnInputSerializer, responses={201: AsnSerializer, **ERROR_RESPONSES}
    )
    def post(self, request):
        data = _valid(AsnInputSerializer, request)
        asn = services.asn_create(
            location=data["location"],
            items=items_of(data["items"]),
            number=data["number"],
            supplier=data["supplier"],
            expected_at=data["expected_at"],
            auto_close=data["auto_close"],
            actor=request.user,
        )
        return Response(AsnSerializer(asn).data, status=status.HTTP_201_CREATED)


class AsnDetailApi(APIView):
    permission_classes = [roles_allowed(*READ_ROLES)]

    @extend_schema(responses={200: AsnSerializer, **ERROR_RESPONSES})
    def get(self, request, pk: int):
        queryset = Asn.objects.select_related(
            "location", "transfer_order"
        ).prefetch_related("lines__product")
        return Response(
            AsnSerializer(selectors.visible_or_404(request.user, queryset, pk)).data
        )


class AsnReceiveInputSerializer(InputSerializer):
    items = ItemInputSerializer(many=True, allow_empty=False)
    allow_over_receipt = serializers.BooleanField(default=False)


class AsnReceiveApi(APIView):
    """Receive units against this ASN at its location. More than expected is
    refused (400 `over_receipt`) unless `allow_over_receipt` is true; the ASN
    closes itself when fully received if `auto_close` is set."""

    permission_classes = [roles_allowed(*STAFF_ROLES)]

    @extend_schema(
        request=AsnReceiveInputSerializer,
        responses={201: ReceiptSerializer, **ERROR_RESPONSES},
    )
    def post(self, request, pk: int):
        asn = selectors.visible_or_404(
            request.user, Asn.objects.select_related("location"), pk
        )
        data = _valid(AsnReceiveInputSerializer, request)
        ensure_location_access(request.user, asn.location)
        receipt = services.items_receive(
            location=asn.location,
            reference_type=Receipt.ReferenceType.ASN,
            reference=asn.number,
            items=items_of(data["items"]),
            allow_over_receipt=data["allow_over_receipt"],
            actor=request.user,
        )
        return Response(ReceiptSerializer(receipt).data, status=status.HTTP_201_CREATED)


class ReasonInputSerializer(InputSerializer):
    reason = serializers.CharField(max_length=500, required=False, default="")


class AsnCloseApi(APIView):
    """Close the ASN by hand (also when partly received); 409 when closed."""

    permission_classes = [roles_allowed(*MANAGER_ROLES)]

    @extend_schema(
        request=ReasonInputSerializer, responses={200: AsnSerializer, **ERROR_RESPONSES}
    )
    def post(self, request, pk: int):
        asn = get_object_or_404(Asn, pk=pk)
        data = _valid(ReasonInputSerializer, request)
        asn = services.asn_close(asn=asn, actor=request.user, reason=data["reason"])
        return Response(AsnSerializer(asn).data)


# Transfer orders ----------------------------------------------------------------------


class TransferOrderLineSerializer(serializers.Serializer):
    sku = serializers.CharField(source="product.sku")
    requested = serializers.IntegerField(source="requested_quantity")
    shipped = serializers.IntegerField(source="shipped_quantity")
    received = serializers.IntegerField(source="received_quantity")
    cancelled = serializers.IntegerField(source="cancelled_quantity")


class TransferOrderSerializer(serializers.ModelSerializer):
    origin = serializers.CharField(source="origin.code")
    destination = serializers.CharField(source="destination.code")
    lines = TransferOrderLineSerializer(many=True)
    allowed_actions = serializers.SerializerMethodField()

    class Meta:
        model = TransferOrder
        fields = [
            "id",
            "number",
            "origin",
            "destination",
            "expected_at",
            "status",
            "carrier",
            "tracking_number",
            "lines",
            "allowed_actions",
            "created_at",
            "shipped_at",
            "closed_at",
        ]

    def get_allowed_actions(self, transfer_order) -> list[str]:
        return allowed_transitions(transfer_order)


class TransferOrderInputSerializer(InputSerializer):
    origin = LocationCodeField()
    destination = LocationCodeField()
    expected_at = serializers.DateField(required=False, allow_null=True, default=None)
    items = ItemInputSerializer(many=True, allow_empty=False)


class TransferOrderListCreateApi(ListAPIView):
    serializer_class = TransferOrderSerializer
    filter_backends: list = []

    permission_classes = [roles_by_method(read=READ_ROLES, write=STAFF_ROLES)]

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=TransferOrder.Status.values),
            OpenApiParameter(
                "overdue", bool, description="Past expected_at, not closed"
            ),
            OpenApiParameter("location", str, description="Origin or destination"),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        return selectors.visible_to(
            selectors.transfer_order_list(
                status=text_param(params, "status"),
                overdue=text_param(params, "overdue").lower() in {"1", "true", "yes"},
                location_code=text_param(params, "location"),
            ),
            user=self.request.user,
            through=selectors.TRANSFER_ORDER_ENDS,
        )

    @extend_schema(
        request=TransferOrderInputSerializer,
        responses={201: TransferOrderSerializer, **ERROR_RESPONSES},
    )
    def post(self, request):
        data = _valid(TransferOrderInputSerializer, request)
        ensure_location_access(request.user, data["origin"])
        transfer_order = services.transfer_order_create(
            origin=data["origin"],
            destination=data["destination"],
            items=items_of(data["items"]),
            expected_at=data["expected_at"],
            actor=request.user,
        )
        return Response(
            TransferOrderSerializer(transfer_order).data, status=status.HTTP_201_CREATED
        )


class TransferOrderDetailApi(APIView):
    permission_classes = [roles_allowed(*READ_ROLES)]

    @extend_schema(responses={200: TransferOrderSerializer, **ERROR_RESPONSES})
    def get(self, request, pk: int):
        queryset = TransferOrder.objects.select_related(
            "origin", "destination"
        ).prefetch_related("lines__product")
        return Response(
            TransferOrderSerializer(
                selectors.visible_transfer_order_or_404(request.user, queryset, pk)
            ).data
        )


class ShipItemSerializer(InputSerializer):
    sku = SkuField()
    quantity = serializers.IntegerField(min_value=0, max_value=MAX_UNITS)


class TransferOrderShipInputSerializer(InputSerializer):
    items = ShipItemSerializer(
        many=True,
        required=False,
        help_text="Units per SKU; omitted: each line's request, capped by stock.",
    )
    carrier = serializers.CharField(max_length=100, required=False, default="")
    tracking_number = serializers.CharField(max_length=100, required=False, default="")


class TransferOrderShipApi(APIView):
    """Ship from the origin. With a carrier or tracking number the parcel is ready
    for handover; without, an ASN is created at the destination."""

    permission_classes = [roles_allowed(*STAFF_ROLES)]

    @extend_schema(
        request=TransferOrderShipInputSerializer,
        responses={200: TransferOrderSerializer, **ERROR_RESPONSES},
    )
    def post(self, request, pk: int):
        transfer_order = selectors.visible_transfer_order_or_404(
            request.user, TransferOrder.objects.select_related("origin"), pk
        )
        data = _valid(TransferOrderShipInputSerializer, request)
        ensure_location_access(request.user, transfer_order.origin)
        quantities = None
        if "items" in data:
            quantities = {item["sku"].pk: item["quantity"] for item in data["items"]}
        transfer_order = services.transfer_order_ship(
            transfer_order=transfer_order,
            quantities=quantities,
            carrier=data["carrier"],
            tracking_number=data["tracking_number"],
            actor=request.user,
        )
        return Response(TransferOrderSerializer(transfer_order).data)


class TransferOrderReceiveInputSerializer(InputSerializer):
    items = ItemInputSerializer(
        many=True, required=False, help_text="Omitted: everything in transit."
    )


class TransferOrderReceiveApi(APIView):
    permission_classes = [roles_allowed(*STAFF_ROLES)]

    @extend_schema(
        request=TransferOrderReceiveInputSerializer,
        responses={201: ReceiptSerializer, **ERROR_RESPONSES},
    )
    def post(self, request, pk: int):
        transfer_order = selectors.visible_transfer_order_or_404(
            request.user, TransferOrder.objects.select_related("destination"), pk
        )
        data = _valid(TransferOrderReceiveInputSerializer, request)
        ensure_location_access(request.user, transfer_order.destination)
        receipt = services.transfer_order_receive(
            transfer_order=transfer_order,
            items=items_of(data["items"]) if "items" in data else None,
            actor=request.user,
        )
        return Response(ReceiptSerializer(receipt).data, status=status.HTTP_201_CREATED)


class TransferOrderCloseApi(APIView):
    """Close by hand, also when partly fulfilled; 409 when closed."""

    permission_classes = [roles_allowed(*MANAGER_ROLES)]

    @extend_schema(
        request=ReasonInputSerializer,
        responses={200: TransferOrderSerializer, **ERROR_RESPONSES},
    )
    def post(self, request, pk: int):
        transfer_order = get_object_or_404(TransferOrder, pk=pk)
        data = _valid(ReasonInputSerializer, request)
        transfer_order = services.transfer_order_close(
            transfer_order=transfer_order, actor=request.user, reason=data["reason"]
        )
        return Response(TransferOrderSerializer(transfer_order).data)


# Adjustments --------------------------------------------------------------------------

ADJUSTMENT_REASON_CHOICES = [
    (reason.value, reason.label) for reason in services.ADJUSTMENT_REASONS
]


class AdjustmentInputSerializer(InputSerializer):
    location = LocationCodeField()
    sku = SkuField()
    quantity = serializers.IntegerField(
        min_value=-MAX_UNITS,
        max_value=MAX_UNITS,
        help_text="Signed change of on_hand, not 0.",
    )
    reason = serializers.ChoiceField(choices=ADJUSTMENT_REASON_CHOICES)
    note = serializers.CharField(max_length=500, required=False, default="")


class AdjustmentListCreateApi(ListAPIView):
    """Adjustments (ledger rows of type `adjustment`); POST posts one. damaged and
    lost must be negative, found positive, correction either."""

    serializer_class = LedgerSerializer
    filter_backends: list = []

    permission_classes = [roles_by_method(read=READ_ROLES, write=STAFF_ROLES)]

    def get_queryset(self):
        return selectors.visible_to(
            selectors.ledger_list(type=InventoryTransaction.Type.ADJUSTMENT),
            user=self.request.user,
        )

    @extend_schema(
        request=AdjustmentInputSerializer,
        responses={201: LedgerSerializer, **ERROR_RESPONSES},
    )
    def post(self, request):
        data = _valid(AdjustmentInputSerializer, request)
        ensure_location_access(request.user, data["location"])
        row = services.adjustment_create(
            location=data["location"],
            product=data["sku"],
            quantity=data["quantity"],
            reason=data["reason"],
            note=data["note"],
            actor=request.user,
        )
        return Response(LedgerSerializer(row).data, status=status.HTTP_201_CREATED)


# Cycle counts -------------------------------------------------------------------------


class CycleCountLineSerializer(serializers.Serializer):
    sku = serializers.CharField(source="product.sku")
    counted = serializers.IntegerField(source="counted_quantity", allow_null=True)
    expected = serializers.IntegerField(source="expected_quantity", allow_null=True)
    discrepancy = serializers.IntegerField(allow_null=True)


class CycleCountSerializer(serializers.ModelSerializer):
    location = serializers.CharField(source="location.code")
    lines = CycleCountLineSerializer(many=True)
    recount_id = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField()

    class Meta:
        model = CycleCount
        fields = [
            "id",
            "location",
            "status",
            "note",
            "recount_of",
            "recount_id",
            "lines",
            "allowed_actions",
            "created_at",
            "counted_at",
            "reviewed_at",
        ]

    def get_recount_id(self, cycle_count) -> int | None:
        try:
            return cycle_count.recount.pk
        except CycleCount.DoesNotExist:
            return None

    def get_allowed_actions(self, cycle_count) -> list[str]:
        return allowed_transitions(cycle_count)


class CycleCountInputSerializer(InputSerializer):
    location = LocationCodeField()
    skus = serializers.ListField(child=SkuField(), allow_empty=False)
    note = serializers.CharField(max_length=500, required=False, default="")


class CountedItemSerializer(InputSerializer):
    sku = SkuField()
    quantity = serializers.IntegerField(min_value=0, max_value=MAX_UNITS)


class CycleCountSubmitInputSerializer(InputSerializer):
    items = CountedItemSerializer(many=True, allow_empty=False)
    counted_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="When the shelf was counted; default now.",
    )


class CycleCountListCreateApi(ListAPIView):
    serializer_class = CycleCountSerializer
    filter_backends: list = []

    permission_classes = [roles_by_method(read=READ_ROLES, write=STAFF_ROLES)]

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=CycleCount.Status.values),
            OpenApiParameter("location", str, description="Location code"),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        return (
            selectors.visible_to(
                selectors.cycle_count_list(
                    status=text_param(params, "status"),
                    location_code=text_param(params, "location"),
                ),
                user=self.request.user,
            )
            .select_related("recount")
            .prefetch_related("lines__product")
        )

    @extend_schema(
        request=CycleCountInputSerializer,
        responses={201: CycleCountSerializer, **ERROR_RESPONSES},
    )
    def post(self, request):
        data = _valid(CycleCountInputSerializer, request)
        ensure_location_access(request.user, data["location"])
        cycle_count = services.cycle_count_create(
            location=data["location"],
            products=data["skus"],
            note=data["note"],
            actor=request.user,
        )
        return Response(
            CycleCountSerializer(cycle_count).data, status=status.HTTP_201_CREATED
        )


class CycleCountDetailApi(APIView):
    permission_classes = [roles_allowed(*READ_ROLES)]

    @extend_schema(responses={200: CycleCountSerializer, **ERROR_RESPONSES})
    def get(self, request, pk: int):
        cycle_count = selectors.visible_or_404(
            request.user, CycleCount.objects.all(), pk
        )
        return Response(CycleCountSerializer(cycle_count).data)


class CycleCountSubmitApi(APIView):
    """Submit counted units for every line (zero allowed). Each line's expected
    quantity is the ledger's on hand at `counted_at` (default now), so sales and
    receipts during the count are not discrepancies; approval later posts the
    discrepancy on top of the live stock."""

    permission_classes = [roles_allowed(*STAFF_ROLES)]

    @extend_schema(
        request=CycleCountSubmitInputSerializer,
        responses={200: CycleCountSerializer, **ERROR_RESPONSES},
    )
    def post(self, request, pk: int):
        cycle_count = selectors.visible_or_404(
            request.user, CycleCount.objects.select_related("location"), pk
        )
        data = _valid(CycleCountSubmitInputSerializer, request)
        ensure_location_access(request.user, cycle_count.location)
        counts: dict[int, int] = {}
        for item in data["items"]:
            if item["sku"].pk in counts:
                raise ApplicationError(
                    f"{item['sku'].sku} is listed twice.",
                    code="duplicate_item",
                    field_errors={"items": [f"{item['sku'].sku} is listed twice."]},
                )
            counts[item["sku"].pk] = item["quantity"]
        cycle_count = services.cycle_count_submit(
            cycle_count=cycle_count,
            counts=counts,
            counted_at=data["counted_at"],
            actor=request.user,
        )
        return Response(CycleCountSerializer(cycle_count).data)


class CycleCountApproveApi(APIView):
    """Approve: the discrepancies are posted as count adjustments."""

    permission_classes = [roles_allowed(*MANAGER_ROLES)]

    @extend_schema(
        request=ReasonInputSerializer,
        responses={200: CycleCountSerializer, **ERROR_RESPONSES},
    )
    def post(self, request, pk: int):
        cycle_count = get_object_or_404(CycleCount, pk=pk)
        data = _valid(ReasonInputSerializer, request)
        cycle_count = services.cycle_count_approve(
            cycle_count=cycle_count, actor=request.user, reason=data["reason"]
        )
        return Response(CycleCountSerializer(cycle_count).data)


class CycleCountRejectApi(APIView):
    """Reject: no stock change; returns the recount opened for the same products."""

    permission_classes = [roles_allowed(*MANAGER_ROLES)]

    @extend_schema(
        request=ReasonInputSerializer,
        responses={201: CycleCountSerializer, **ERROR_RESPONSES},
    )
    def post(self, request, pk: int):
        cycle_count = get_object_or_404(CycleCount, pk=pk)
        data = _valid(ReasonInputSerializer, request)
        recount = services.cycle_count_reject(
            cycle_count=cycle_count, actor=request.user, reason=data["reason"]
        )
        return Response(
            CycleCountSerializer(recount).data, status=status.HTTP_201_CREATED
        )


# Stock sync ---------------------------------------------------------------------------


class SyncRowInputSerializer(InputSerializer):
    location = serializers.CharField(allow_blank=True)
    sku = serializers.CharField(allow_blank=True)
    quantity = serializers.CharField(
        allow_blank=True, help_text="Absolute on_hand, a whole number >= 0."
    )


class SyncJsonInputSerializer(InputSerializer):
    rows = SyncRowInputSerializer(many=True, allow_empty=False)


class SyncFileInputSerializer(InputSerializer):
    file = serializers.FileField(help_text="CSV with header location,sku,quantity")


class StockSyncSerializer(serializers.ModelSerializer):
    class Meta:
        model = StockSync
        fields = [
            "id",
            "source",
            "rows_total",
            "rows_changed",
            "rows_unchanged",
            "rows_rejected",
            "rejected",
            "started_at",
            "finished_at",
        ]


class StockSyncApi(APIView):
    """Full stock sync from an ERP: absolute on_hand per location and SKU, as JSON
    rows or a CSV file (multipart field `file`). Differences are posted as
    adjustments (reason `sync`); rejected rows are listed in the report. Rows are
    applied in batches; stock absent from the upload is left unchanged."""

    permission_classes = [roles_allowed(*MANAGER_ROLES)]
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(
        request={
            "application/json": SyncJsonInputSerializer,
            "multipart/form-data": SyncFileInputSerializer,
        },
        responses={201: StockSyncSerializer, **ERROR_RESPONSES},
    )
    def post(self, request):
        if "file" in request.FILES:
            upload = _valid(SyncFileInputSerializer, request)["file"]
            rows = services.sync_rows_from_csv(upload.file)
            source = f"api upload {upload.name}"
        else:
            data = _valid(SyncJsonInputSerializer, request)
            rows = (
                services.SyncRow(n, row["location"], row["sku"], row["quantity"])
                for n, row in enumerate(data["rows"], start=1)
            )
            source = "api rows"
        sync = services.stock_sync_run(rows=rows, source=source, actor=request.user)
        return Response(StockSyncSerializer(sync).data, status=status.HTTP_201_CREATED)


class StockSyncDetailApi(APIView):
    permission_classes = [roles_allowed(*MANAGER_ROLES)]

    @extend_schema(responses={200: StockSyncSerializer, **ERROR_RESPONSES})
    def get(self, request, pk: int):
        return Response(StockSyncSerializer(get_object_or_404(StockSync, pk=pk)).data)
