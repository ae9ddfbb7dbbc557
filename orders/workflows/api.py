"""REST API of the workflow configuration: order types, steps (+ dry run), step
groups, and the runs of steps with their retry. Admins configure; customer
service reads and retries failed steps."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.api.permissions import roles_allowed, roles_by_method
from oms.api.schema import ERROR_RESPONSES
from oms.api.serializers import (
    InputModelSerializer,
    InputSerializer,
    StorableDictField,
    StorableJSONField,
)
from oms.errors import ApplicationError
from oms.roles import Role
from orders.workflows import dry_run, selectors, services
from orders.workflows.models import (
    OrderTypeDefinition,
    WorkflowStep,
    WorkflowStepGroup,
    WorkflowStepRun,
)
from orders.workflows.runner import run_retry

ReadOrAdmin = roles_by_method(read=(Role.CSR,), write=())
AdminOnly = roles_allowed()
CustomerService = roles_allowed(Role.CSR)


class OrderTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderTypeDefinition
        fields = ["code", "name", "flow", "stages", "description", "active"]


class OrderTypeInputSerializer(InputSerializer):
    code = serializers.CharField(max_length=20, required=False)
    name = serializers.CharField(max_length=100, required=False)
    flow = serializers.CharField(max_length=20, required=False)
    stages = StorableJSONField(required=False)
    active = serializers.BooleanField(required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    copy_from = serializers.CharField(
        max_length=20, required=False, help_text="Code of the order type to copy."
    )


class StepSerializer(serializers.ModelSerializer):
    order_type = serializers.SlugRelatedField(slug_field="code", read_only=True)
    group = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    runs_group = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )

    class Meta:
        model = WorkflowStep
        fields = [
            "id", "order_type", "stage", "group", "position", "name", "action",
            "params", "runs_group", "active", "stop_on_error", "timing", "condition",
            "enabled_for", "disabled_for",
        ]  # fmt: skip


class StepInputSerializer(InputSerializer):
    """Shapes only; the service checks the values (400 with field errors)."""

    order_type = serializers.CharField(max_length=20, required=False)
    stage = serializers.CharField(max_length=20, required=False)
    group = serializers.CharField(max_length=40, required=False)
    position = serializers.IntegerField(min_value=0, required=False)
    name = serializers.CharField(max_length=100, required=False)
    action = serializers.CharField(max_length=40, required=False)
    params = StorableJSONField(required=False)
    runs_group = serializers.CharField(max_length=40, required=False, allow_blank=True)
    active = serializers.BooleanField(required=False)
    stop_on_error = serializers.BooleanField(required=False)
    timing = serializers.CharField(max_length=10, required=False)
    condition = serializers.CharField(max_length=20, required=False)
    enabled_for = StorableJSONField(required=False)
    disabled_for = StorableJSONField(required=False)


class GroupSerializer(InputModelSerializer):
    steps = StepSerializer(many=True, read_only=True)

    class Meta:
        model = WorkflowStepGroup
        fields = ["code", "name", "stop_on_error", "description", "steps"]
        read_only_fields = ["steps"]


class DryRunInputSerializer(InputSerializer):
    orders = serializers.ListField(
        child=serializers.CharField(max_length=32), required=False, max_length=50
    )
    sample = serializers.IntegerField(min_value=1, max_value=50, required=False)
    order_type = serializers.CharField(max_length=20, required=False)
    stage = serializers.CharField(max_length=20, required=False)
    steps = serializers.ListField(
        child=StorableDictField(), required=False, max_length=50
    )

    def validate(self, attrs):
        if not attrs.get("orders") and not attrs.get("sample"):
            raise serializers.ValidationError(
                {"orders": ["Name orders, or ask for a sample."]}
            )
        return attrs


class RunSerializer(serializers.ModelSerializer):
    order = serializers.CharField(source="order.number")
    retryable = serializers.SerializerMethodField()

    class Meta:
        model = WorkflowStepRun
        fields = [
            "id", "order", "stage", "step", "step_name", "action", "timing", "result",
            "message", "duration_ms", "attempts", "next_attempt_at", "created_at",
            "finished_at", "retryable",
        ]  # fmt: skip

    def get_retryable(self, run) -> bool:
        return selectors.run_is_retryable(run)


def _refuse_unknown(field: str, value: str) -> None:
    raise ApplicationError(
        "The request is not valid.",
        code="invalid_workflow",
        field_errors={field: [f"Unknown: {value!r}."]},
    )


def _order_type(code: str | None):
    if not code:
        return None
    order_type = OrderTypeDefinition.objects.filter(code=code).first()
    if order_type is None:
        _refuse_unknown("order_type", code)
    return order_type


def _group(code: str | None):
    if not code:
        return None
    group = WorkflowStepGroup.objects.filter(code=code).first()
    if group is None:
        _refuse_unknown("group", code)
    return group


def _step_fields(data: dict) -> dict:
    if data.get("runs_group"):
        data["runs_group"] = _group(data["runs_group"])
    return data


class OrderTypeListCreateApi(ListAPIView):
    permission_classes = [ReadOrAdmin]
    serializer_class = OrderTypeSerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.order_type_list()

    @extend_schema(
        request=OrderTypeInputSerializer,
        responses={201: OrderTypeSerializer, **ERROR_RESPONSES},
    )
    def post(self, request):
        serializer = OrderTypeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        copy_from = data.pop("copy_from", None)
        order_type = services.order_type_create(
            copy_from=selectors.order_type_get(code=copy_from) if copy_from else None,
            **data,
        )
        return Response(
            OrderTypeSerializer(order_type).data, status=status.HTTP_201_CREATED
        )


class OrderTypeDetailApi(APIView):
    permission_classes = [ReadOrAdmin]

    @extend_schema(responses={200: OrderTypeSerializer, **ERROR_RESPONSES})
    def get(self, request, code: str):
        return Response(OrderTypeSerializer(selectors.order_type_get(code=code)).data)

    @extend_schema(
        request=OrderTypeInputSerializer,
        responses={200: OrderTypeSerializer, **ERROR_RESPONSES},
    )
    def patch(self, request, code: str):
        serializer = OrderTypeInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("copy_from", None)
        order_type = services.order_type_update(
            order_type=selectors.order_type_get(code=code), **data
        )
        return Response(OrderTypeSerializer(order_type).data)


class StepListCreateApi(ListAPIView):
    """Steps, filtered by `order_type`, `stage` or `group` (codes)."""

    permission_classes = [ReadOrAdmin]
    serializer_class = StepSerializer
    pagination_class = None

    def get_queryset(self):
        params = self.request.query_params
        return selectors.step_list(
            order_type=params.get("order_type", ""),
            stage=params.get("stage", ""),
            group=params.get("group", ""),
        )

    @extend_schema(
        request=StepInputSerializer, responses={201: StepSerializer, **ERROR_RESPONSES}
    )
    def post(self, request):
        serializer = StepInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = _step_fields(dict(serializer.validated_data))
        step = services.step_create(
            order_type=_order_type(data.pop("order_type", None)),
            group=_group(data.pop("group", None)),
            stage=data.pop("stage", ""),
            **data,
        )
        return Response(StepSerializer(step).data, status=status.HTTP_201_CREATED)


class StepDetailApi(APIView):
    permission_classes = [ReadOrAdmin]

    @extend_schema(responses={200: StepSerializer, **ERROR_RESPONSES})
    def get(self, request, pk: int):
        return Response(StepSerializer(selectors.step_get(pk=pk)).data)

    @extend_schema(
        request=StepInputSerializer, responses={200: StepSerializer, **ERROR_RESPONSES}
    )
    def patch(self, request, pk: int):
        serializer = StepInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = _step_fields(dict(serializer.validated_data))
        moved = {"order_type", "stage", "group"} & set(data)
        if moved:
            raise ApplicationError(
                "A step stays where it is; add a new one elsewhere.",
                code="invalid_workflow",
                field_errors={name: ["Cannot change."] for name in sorted(moved)},
            )
        step = services.step_update(step=selectors.step_get(pk=pk), **data)
        return Response(StepSerializer(step).data)

    @extend_schema(responses={204: None, **ERROR_RESPONSES})
    def delete(self, request, pk: int):
        services.step_delete(step=selectors.step_get(pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class StepDryRunApi(APIView):
    """Which steps would run for the named orders (or a sample of the latest),
    with which parameters and to what effect, under the saved configuration or a
    draft of one stage's `steps`. Reads only: nothing is written or sent."""

    permission_classes = [AdminOnly]

    @extend_schema(
        request=DryRunInputSerializer, responses={200: None, **ERROR_RESPONSES}
    )
    def post(self, request):
        serializer = DryRunInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        _order_type(data.get("order_type"))
        orders = dry_run.sample_orders(
            numbers=data.get("orders", ()),
            order_type=data.get("order_type", ""),
            sample=data.get("sample", 0),
        )
        if not orders:
            raise ApplicationError(
                "No such orders.",
                code="invalid_workflow",
                field_errors={"orders": ["No order found."]},
            )
        draft = None
        if "steps" in data:
            draft = [services.draft_spec(_step_fields(dict(s))) for s in data["steps"]]
        plans = dry_run.dry_run(orders=orders, stage=data.get("stage", ""), draft=draft)
        return Response({"orders": plans})


class GroupListCreateApi(ListAPIView):
    permission_classes = [ReadOrAdmin]
    serializer_class = GroupSerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.group_list()

    @extend_schema(
        request=GroupSerializer, responses={201: GroupSerializer, **ERROR_RESPONSES}
    )
    def post(self, request):
        serializer = GroupSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        group = services.group_create(
            code=data["code"],
            name=data["name"],
            stop_on_error=data.get("stop_on_error", True),
        )
        return Response(GroupSerializer(group).data, status=status.HTTP_201_CREATED)


class RunListApi(ListAPIView):
    """Runs of steps, newest first; filter by `order` (number) and `result`."""

    permission_classes = [CustomerService]
    serializer_class = RunSerializer

    def get_queryset(self):
        params = self.request.query_params
        return selectors.run_list(
            order_number=params.get("order", ""), result=params.get("result", "")
        )


class RunRetryApi(APIView):
    """Run a failed after-commit step again now (409 unless it is `error`)."""

    permission_classes = [CustomerService]

    @extend_schema(request=None, responses={200: RunSerializer, **ERROR_RESPONSES})
    def post(self, request, pk: int):
        run = selectors.run_get(pk=pk)
        run_retry(run_id=run.pk, by_hand=True)
        run.refresh_from_db()
        return Response(RunSerializer(run).data)
