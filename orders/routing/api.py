"""Routing and fulfillment API: rule sets, simulation, brokering runs, queues, order
release/hold/unhold, and fulfillment requests as stores and WMSs drive them."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.api.pagination import IdCursorPagination
from oms.api.permissions import roles_allowed
from oms.api.schema import ERROR_RESPONSES
from oms.api.serializers import InputModelSerializer, InputSerializer
from oms.errors import ApplicationError, Conflict, NotFound
from oms.roles import Role
from orders import selectors as order_selectors
from orders.models import Order
from orders.routing import engine, selectors, services
from orders.routing.models import BrokeringRun, FulfillmentRequest, RoutingRuleSet

Admin = roles_allowed(Role.ADMIN)
Staff = roles_allowed(Role.CSR, Role.INTEGRATION)
Fulfilment = roles_allowed(
    Role.STORE_ASSOCIATE, Role.CSR, Role.INVENTORY_MANAGER, Role.INTEGRATION
)


# Rule sets ----------------------------------------------------------------------------


class RuleSetSerializer(InputModelSerializer):
    queues = serializers.ListField(
        child=serializers.ChoiceField(
            choices=[
                Order.Queue.BROKERING,
                Order.Queue.REJECTED,
                Order.Queue.UNFILLABLE,
            ]
        ),
        min_length=1,
    )
    location_types = serializers.ListField(
        child=serializers.ChoiceField(choices=["store", "dc"]), required=False
    )
    sort_criteria = serializers.ListField(
        child=serializers.ChoiceField(choices=[c.value for c in engine.SortCriterion]),
        min_length=1,
    )
    split_policy = serializers.ChoiceField(
        choices=[p.value for p in engine.SplitPolicy], required=False
    )
    safety_stock_override = serializers.IntegerField(
        min_value=0, max_value=1_000_000, allow_null=True, required=False
    )
    run_every_minutes = serializers.IntegerField(
        min_value=1, max_value=10_080, allow_null=True, required=False
    )

    class Meta:
        model = RoutingRuleSet
        fields = [
            "id",
            "name",
            "description",
            "queues",
            "location_types",
            "require_can_ship",
            "exclude_rejecting_locations",
            "sort_criteria",
            "split_policy",
            "safety_stock_override",
            "active",
            "run_every_minutes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        # Uniqueness is the service's to check (with the same message as the page).
        extra_kwargs = {"name": {"validators": [], "required": False}}


def _rule_set(pk: int) -> RoutingRuleSet:
    rule_set = RoutingRuleSet.objects.filter(pk=pk).first()
    if rule_set is None:
        raise NotFound(f"No rule set {pk}.", code="rule_set_not_found")
    return rule_set


class RuleSetListCreateApi(ListAPIView):
    permission_classes = [Admin]
    serializer_class = RuleSetSerializer

    def get_queryset(self):
        return selectors.rule_set_list().order_by("-id")

    @extend_schema(
        request=RuleSetSerializer,
        responses={201: RuleSetSerializer, **ERROR_RESPONSES},
    )
    def post(self, request):
        serializer = RuleSetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rule_set = services.rule_set_create(
            actor=request.user, **serializer.validated_data
        )
        return Response(
            RuleSetSerializer(rule_set).data, status=status.HTTP_201_CREATED
        )


class RuleSetDetailApi(APIView):
    permission_classes = [Admin]

    @extend_schema(responses={200: RuleSetSerializer, **ERROR_RESPONSES})
    def get(self, request, pk: int):
        return Response(RuleSetSerializer(_rule_set(pk)).data)

    @extend_schema(
        request=RuleSetSerializer,
        responses={200: RuleSetSerializer, **ERROR_RESPONSES},
    )
    def patch(self, request, pk: int):
        rule_set = _rule_set(pk)
        serializer = RuleSetSerializer(rule_set, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        rule_set = services.rule_set_update(
            rule_set=rule_set, actor=request.user, **serializer.validated_data
        )
        return Response(RuleSetSerializer(rule_set).data)

    @extend_schema(responses={204: None, **ERROR_RESPONSES})
    def delete(self, request, pk: int):
        services.rule_set_delete(rule_set=_rule_set(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


# Simulation ---------------------------------------------------------------------------


class SimulationInputSerializer(InputSerializer):
    rule_set_id = serializers.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        required=False,
        help_text="A saved (e.g. inactive) rule set to simulate.",
    )
    rules = RuleSetSerializer(
        required=False, help_text="Unsaved draft rules (name not needed)."
    )
    order_numbers = serializers.ListField(
        child=serializers.CharField(max_length=32),
        required=False,
        max_length=selectors.SIMULATION_LIMIT,
    )

    def validate(self, data):
        if ("rule_set_id" in data) == ("rules" in data):
            raise serializers.ValidationError(
                {"rules": ["Give either rule_set_id or rules."]}
            )
        return data


class SimulatedOrderSerializer(serializers.Serializer):
    number = serializers.CharField()
    draft = serializers.DictField()
    live = serializers.DictField(allow_null=True)
    differs = serializers.BooleanField()


class TotalsSerializer(serializers.Serializer):
    orders = serializers.IntegerField()
    routed = serializers.IntegerField()
    splits = serializers.IntegerField()
    unfillable = serializers.IntegerField()
    average_distance_km = serializers.FloatField(allow_null=True)


class SimulationSerializer(serializers.Serializer):
    draft = TotalsSerializer(source="draft.as_dict")
    live = serializers.SerializerMethodField()
    differing = serializers.IntegerField()
    unknown_numbers = serializers.ListField(child=serializers.CharField())
    orders = SimulatedOrderSerializer(many=True)

    def get_live(self, simulation) -> TotalsSerializer(allow_null=True):
        return simulation.live.as_dict() if simulation.live else None


def draft_rules(data: dict) -> tuple[engine.Rules, int | None]:
    """Engine rules from draft form or API data (validated by the service rules)."""
    errors = services.rule_set_errors({k: v for k, v in data.items() if k != "name"})
    if errors:
        raise ApplicationError(
            "The draft rules are not valid.",
            code="invalid_rule_set",
            field_errors=errors,
        )
    draft = RoutingRuleSet(
        **{
            key: value
            for key, value in data.items()
            if key in services.RULE_FIELDS and key != "name"
        }
    )
    return draft.engine_rules(), draft.safety_stock_override


class SimulateApi(APIView):
    """Where the queue (or the chosen orders) would go under draft rules, next to
    the live rules. Changes nothing at all."""

    permission_classes = [roles_allowed(Role.CSR)]

    @extend_schema(
        request=SimulationInputSerializer,
        responses={200: SimulationSerializer, **ERROR_RESPONSES},
    )
    def post(self, request):
        serializer = SimulationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "rule_set_id" in data:
            rule_set = _rule_set(data["rule_set_id"])
            rules, safety, queues = (
                rule_set.engine_rules(),
                rule_set.safety_stock_override,
                rule_set.queues,
            )
        else:
            rules, safety = draft_rules(data["rules"])
            queues = data["rules"].get("queues")
        simulation = selectors.routing_simulation(
            rules=rules,
            safety_stock_override=safety,
            queues=queues,
            order_numbers=data.get("order_numbers") or None,
            live_rule_set=selectors.live_rule_set(),
        )
        return Response(SimulationSerializer(simulation).data)


# Brokering runs and queues ------------------------------------------------------------


class BrokeringRunSerializer(serializers.ModelSerializer):
    rule_set = serializers.CharField(source="rule_set.name", read_only=True)
    progress_percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = BrokeringRun
        fields = [
            "id",
            "rule_set",
            "rule_set_id",
            "status",
            "orders_total",
            "orders_seen",
            "orders_routed",
            "orders_split",
            "orders_unfillable",
            "orders_deferred",
            "progress_percent",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class BrokeringRunStartSerializer(InputSerializer):
    rule_set_id = serializers.IntegerField(min_value=1, max_value=2**31 - 1)


class BrokeringRunListCreateApi(ListAPIView):
    permission_classes = [roles_allowed(Role.CSR, Role.INTEGRATION)]
    serializer_class = BrokeringRunSerializer

    def get_queryset(self):
        return selectors.brokering_run_list()

    @extend_schema(
        request=BrokeringRunStartSerializer,
        responses={202: BrokeringRunSerializer, **ERROR_RESPONSES},
    )
    def post(self, request):
        """Start a run now; it executes in the background (poll its detail)."""
        serializer = BrokeringRunStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = services.brokering_run_start(
            rule_set=_rule_set(serializer.validated_data["rule_set_id"]),
            actor=request.user,
        )
        run.refresh_from_db()
        return Response(
            BrokeringRunSerializer(run).data, status=status.HTTP_202_ACCEPTED
        )


class BrokeringRunDetailApi(APIView):
    permission_classes = [roles_allowed(Role.CSR, Role.INTEGRATION)]

    @extend_schema(responses={200: BrokeringRunSerializer, **ERROR_RESPONSES})
    def get(self, request, pk: int):
        run = selectors.brokering_run_list().filter(pk=pk).first()
        if run is None:
            raise NotFound(f"No brokering run {pk}.", code="run_not_found")
        return Response(BrokeringRunSerializer(run).data)


class QueueSerializer(serializers.Serializer):
    queue = serializers.CharField()
    label = serializers.CharField()
    size = serializers.IntegerField()
    oldest_placed_at = serializers.DateTimeField(allow_null=True)
    oldest_age_seconds = serializers.IntegerField(allow_null=True)


class QueuesApi(APIView):
    permission_classes = [roles_allowed(Role.CSR, Role.INTEGRATION)]

    @extend_schema(responses={200: QueueSerializer(many=True), **ERROR_RESPONSES})
    def get(self, request):
        return Response(QueueSerializer(selectors.queue_sizes(), many=True).data)


class QueueMoveSerializer(InputSerializer):
    reason = serializers.CharField(max_length=500, required=False, default="")


class OrderQueueSerializer(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.CharField()
    queue = serializers.CharField()


def _queue_move_view(target: str, doc: str):
    class QueueMoveApi(APIView):
        __doc__ = doc
        permission_classes = [Staff]

        @extend_schema(
            request=QueueMoveSerializer,
            responses={200: OrderQueueSerializer, **ERROR_RESPONSES},
        )
        def post(self, request, number: str):
            if "\x00" in number:
                raise NotFound(f"No order {number!r}.", code="order_not_found")
            order = order_selectors.order_get(number=number)
            serializer = QueueMoveSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            result = services.orders_move_queue(
                numbers=[order.number],
                queue=target,
                actor=request.user,
                reason=serializer.validated_data["reason"],
            )
            if result.refused:
                raise Conflict(
                    f"Order {number} cannot move: {result.refused[order.number]}",
                    code="queue_move_refused",
                )
            order.refresh_from_db()
            return Response(OrderQueueSerializer(order).data)

    QueueMoveApi.__name__ = f"Order{target.title().replace('_', '')}Api"
    return QueueMoveApi


OrderReleaseApi = _queue_move_view(
    Order.Queue.BROKERING,
    "Release a parked, unfillable or rejected order to brokering.",
)
OrderHoldApi = _queue_move_view(
    Order.Queue.UNFILLABLE_HOLD, "Hold an unfillable order (no auto-cancel)."
)
OrderUnholdApi = _queue_move_view(
    Order.Queue.UNFILLABLE, "Back to unfillable, with a fresh auto-cancel date."
)


# Fulfillment requests -----------------------------------------------------------------


class RequestLineSerializer(serializers.Serializer):
    order_line_id = serializers.IntegerField()
    sku = serializers.CharField(source="order_line.sku")
    quantity = serializers.IntegerField()
    quantity_rejected = serializers.IntegerField()
    quantity_shipped = serializers.IntegerField()
    quantity_withdrawn = serializers.IntegerField()
    quantity_pending = serializers.IntegerField()
    rejection_reason = serializers.CharField()


class ShipmentSerializer(serializers.Serializer):
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    amount_captured = serializers.DecimalField(max_digits=14, decimal_places=4)
    currency = serializers.CharField()
    created_at = serializers.DateTimeField()


class FulfillmentRequestSerializer(serializers.ModelSerializer):
    order_number = serializers.CharField(source="order.number")
    location = serializers.CharField(source="location.code")
    lines = RequestLineSerializer(many=True)
    shipments = ShipmentSerializer(many=True)

    class Meta:
        model = FulfillmentRequest
        fields = [
            "id",
            "number",
            "order_number",
            "location",
            "status",
            "is_pickup",
            "pickup_deadline",
            "rejection_reason",
            "explanation",
            "lines",
            "shipments",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class FulfillmentRequestSummarySerializer(serializers.ModelSerializer):
    order_number = serializers.CharField(source="order.number")
    location = serializers.CharField(source="location.code")

    class Meta:
        model = FulfillmentRequest
        fields = [
            "id",
            "number",
            "order_number",
            "location",
            "status",
            "is_pickup",
            "pickup_deadline",
            "created_at",
        ]
        read_only_fields = fields


class OldestFirst(IdCursorPagination):
    ordering = "id"


class FulfillmentRequestListApi(ListAPIView):
    """The caller's locations' requests (all for CSRs and integrations), oldest
    first; `?status=` and `?active=true` filter."""

    permission_classes = [Fulfilment]
    serializer_class = FulfillmentRequestSummarySerializer
    pagination_class = OldestFirst

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return FulfillmentRequest.objects.none()
        status = self.request.query_params.get("status", "")
        if status and status not in FulfillmentRequest.Status.values:
            raise ApplicationError(
                "Unknown status.",
                code="invalid_filter",
                field_errors={
                    "status": [
                        "One of " + ", ".join(FulfillmentRequest.Status.values) + "."
                    ]
                },
            )
        return selectors.fulfillment_request_list(
            user=self.request.user,
            status=status,
            active=self.request.query_params.get("active") == "true",
        )


def _request_for(user, pk: int) -> FulfillmentRequest:
    request = selectors.fulfillment_request_get(user=user, pk=pk)
    if request is None:
        raise NotFound(f"No fulfillment request {pk}.", code="request_not_found")
    return request


class FulfillmentRequestDetailApi(APIView):
    permission_classes = [Fulfilment]

    @extend_schema(responses={200: FulfillmentRequestSerializer, **ERROR_RESPONSES})
    def get(self, request, pk: int):
        return Response(
            FulfillmentRequestSerializer(_request_for(request.user, pk)).data
        )


class RejectLineSerializer(InputSerializer):
    order_line_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)


class RejectSerializer(InputSerializer):
    reason = serializers.CharField(max_length=500)
    lines = RejectLineSerializer(
        many=True, required=False, help_text="Omit to reject everything still held."
    )


class ShipSerializer(InputSerializer):
    carrier = serializers.CharField(max_length=60)
    tracking_number = serializers.CharField(max_length=100)


class EmptySerializer(InputSerializer):
    pass


def _action_view(name: str, doc: str, input_serializer=EmptySerializer):
    class RequestActionApi(APIView):
        __doc__ = doc
        permission_classes = [Fulfilment]

        @extend_schema(
            request=input_serializer,
            responses={200: FulfillmentRequestSerializer, **ERROR_RESPONSES},
        )
        def post(self, request, pk: int):
            fulfillment_request = _request_for(request.user, pk)
            serializer = input_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = dict(serializer.validated_data)
            if name == "reject" and "lines" in data:
                data["quantities"] = {
                    line["order_line_id"]: line["quantity"]
                    for line in data.pop("lines")
                }
            service = getattr(services, f"fulfillment_request_{name}")
            service(request=fulfillment_request, actor=request.user, **data)
            return Response(
                FulfillmentRequestSerializer(_request_for(request.user, pk)).data
            )

    RequestActionApi.__name__ = (
        "FulfillmentRequest" + name.title().replace("_", "") + "Api"
    )
    return RequestActionApi


FulfillmentRequestAcceptApi = _action_view(
    "accept", "Accept the request (a WMS's acknowledgement)."
)
FulfillmentRequestRejectApi = _action_view(
    "reject",
    "Reject some lines (or all) with a reason; they are routed again elsewhere.",
    RejectSerializer,
)
FulfillmentRequestPackApi = _action_view("pack", "Packed: the invoice is issued.")
FulfillmentRequestShipApi = _action_view(
    "ship",
    "Shipped with carrier and tracking: stock consumed, payment captured.",
    ShipSerializer,
)
FulfillmentRequestReadyApi = _action_view(
    "ready_for_pickup", "A pickup is ready at the store (customer notified)."
)
FulfillmentRequestPickedUpApi = _action_view(
    "picked_up", "The customer collected the pickup: captured and completed."
)
