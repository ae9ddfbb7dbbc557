"""Background jobs over the API: create one (rows as JSON or a CSV upload), follow
its progress, read its rows, confirm a dry run, cancel it. The role check is per
job kind: whoever may do the action may run the job."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from oms import selectors
from oms.api.pagination import IdCursorPagination
from oms.api.permissions import roles_allowed
from oms.api.schema import ERROR_RESPONSES
from oms.api.serializers import InputSerializer, StorableDictField
from oms.jobs import job_kind
from oms.models import Job, JobRow, JobRowStatus
from oms.roles import STAFF_ROLES
from oms.services import jobs

# Which kinds a user may run is decided per kind (`JobKind.roles`).
JobUsers = roles_allowed(*STAFF_ROLES)


class LineCursorPagination(IdCursorPagination):
    ordering = "line"


class JobSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(
        source="created_by.get_username",
        default=None,
        allow_null=True,
        read_only=True,
    )
    rows_done = serializers.IntegerField(read_only=True)
    progress_percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "status",
            "dry_run",
            "params",
            "source",
            "created_by",
            "preview_of",
            "rows_total",
            "rows_done",
            "rows_succeeded",
            "rows_failed",
            "rows_skipped",
            "progress_percent",
            "created_at",
            "started_at",
            "finished_at",
        ]


class JobRowSerializer(serializers.ModelSerializer):
    class Meta:
        model = JobRow
        fields = ["line", "data", "status", "reason", "result", "finished_at"]


class JobCreateSerializer(InputSerializer):
    kind = serializers.CharField(max_length=60)
    dry_run = serializers.BooleanField(default=False)
    params = StorableDictField(
        child=serializers.CharField(allow_blank=True), required=False, default=dict
    )
    rows = serializers.ListField(
        child=StorableDictField(), required=False, max_length=100_000
    )
    file = serializers.FileField(required=False, help_text="A CSV instead of rows.")

    def to_internal_value(self, data):
        if hasattr(data, "getlist"):  # a multipart form sends params.<name> fields
            params = {
                key.removeprefix("params."): data[key]
                for key in data
                if key.startswith("params.")
            }
            data = {key: data[key] for key in data if not key.startswith("params.")}
            if params:
                data["params"] = params
        return super().to_internal_value(data)

    def validate(self, attrs):
        if ("rows" in attrs) == ("file" in attrs):
            raise serializers.ValidationError(
                {"rows": ["Give either rows or a CSV file."]}
            )
        return attrs


class JobListCreateApi(ListAPIView):
    """The jobs of the kinds you may run (newest first); POST starts one."""

    permission_classes = [JobUsers]
    serializer_class = JobSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        return selectors.job_list(user=self.request.user)

    @extend_schema(
        request=JobCreateSerializer,
        responses={201: JobSerializer, **ERROR_RESPONSES},
    )
    def post(self, request):
        serializer = JobCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        upload = data.get("file")
        rows = (
            jobs.job_rows_from_csv(upload.file, kind=job_kind(data["kind"]))
            if upload
            else data["rows"]
        )
        job = jobs.job_create(
            kind=data["kind"],
            rows=rows,
            params=data["params"],
            actor=request.user,
            dry_run=data["dry_run"],
            source=f"api upload {upload.name}" if upload else "api",
        )
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)


class JobDetailApi(APIView):
    permission_classes = [JobUsers]

    @extend_schema(responses={200: JobSerializer, **ERROR_RESPONSES})
    def get(self, request, pk: int):
        job = selectors.job_get(user=request.user, job_id=pk)
        return Response(JobSerializer(job).data)


class JobRowsApi(ListAPIView):
    """A job's rows with their outcome, in input order; `?status=failed` for the
    failed ones."""

    permission_classes = [JobUsers]
    serializer_class = JobRowSerializer
    pagination_class = LineCursorPagination

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(
            choices=JobRowStatus.choices, required=False, allow_blank=True
        )

    @extend_schema(parameters=[FilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    queryset = JobRow.objects.none()  # the schema's model; see below

    def get_queryset(self):
        filters = self.FilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        job = selectors.job_get(user=self.request.user, job_id=self.kwargs["pk"])
        return selectors.job_rows(
            job=job, status=filters.validated_data.get("status", "")
        )


class JobConfirmApi(APIView):
    """Run a finished dry run for real: a new job with the same rows."""

    permission_classes = [JobUsers]

    @extend_schema(request=None, responses={201: JobSerializer, **ERROR_RESPONSES})
    def post(self, request, pk: int):
        preview = selectors.job_get(user=request.user, job_id=pk)
        job = jobs.job_confirm(job=preview, actor=request.user)
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)


class JobCancelApi(APIView):
    """Stop a job: rows not yet applied are skipped. 409 once it has finished."""

    permission_classes = [JobUsers]

    @extend_schema(request=None, responses={200: JobSerializer, **ERROR_RESPONSES})
    def post(self, request, pk: int):
        job = selectors.job_get(user=request.user, job_id=pk)
        job = jobs.job_cancel(job=job, actor=request.user)
        return Response(JobSerializer(job).data)
