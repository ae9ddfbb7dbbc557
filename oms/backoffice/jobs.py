"""Back-office pages of background jobs: the list, a new job from a CSV upload,
the job page with its live progress bar, per-row results and result CSV, and the
dry run's "confirm" and "cancel" buttons. Role checks per job kind."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View
from django.views.generic import FormView, TemplateView

from oms import selectors
from oms.backoffice.access import RoleRequiredMixin, run_action
from oms.errors import ApplicationError, NotFound
from oms.exports import csv_response
from oms.jobs import job_kind, kinds_for
from oms.models import JobRowStatus
from oms.roles import STAFF_ROLES
from oms.services import jobs

ROWS_PER_PAGE = 100


def job_url(job) -> str:
    return reverse("backoffice:job-detail", args=[job.pk])


def _job_or_404(request, pk: int):
    try:
        return selectors.job_get(user=request.user, job_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc


class JobForm(forms.Form):
    kind = forms.ChoiceField(label="Action")
    file = forms.FileField(
        label="CSV file",
        help_text="Order actions: one order number per line (header “number” "
        "optional). Stock sync: header location,sku,quantity.",
    )
    reason = forms.CharField(
        label="Reason or comment",
        required=False,
        max_length=500,
        help_text="Required to cancel (reason) and to approve (comment).",
    )
    dry_run = forms.BooleanField(
        label="Dry run: only show what would happen", required=False, initial=True
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [
            (kind.name, kind.label) for kind in kinds_for(user)
        ]


class JobListView(RoleRequiredMixin, TemplateView):
    template_name = "backoffice/jobs/job_list.html"
    allowed_roles = STAFF_ROLES

    def get_context_data(self, **kwargs):
        page = Paginator(selectors.job_list(user=self.request.user), 50).get_page(
            self.request.GET.get("page")
        )
        return {
            **super().get_context_data(**kwargs),
            "page": page,
            "jobs": [(job, job_kind(job.kind).label) for job in page],
            "can_create": bool(kinds_for(self.request.user)),
        }


class JobCreateView(RoleRequiredMixin, FormView):
    """A job from an uploaded CSV (order numbers for an order action, or a stock
    sync file); the rows are stored as they are read, and the job runs in the
    background."""

    template_name = "backoffice/jobs/job_form.html"
    allowed_roles = STAFF_ROLES
    form_class = JobForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not kinds_for(request.user):
            raise PermissionDenied("Your role may not run any bulk job.")
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_initial(self):
        return {"kind": self.request.GET.get("kind", "")}

    def form_valid(self, form):
        data = form.cleaned_data
        upload = data["file"]
        try:
            job = jobs.job_create(
                kind=data["kind"],
                rows=jobs.job_rows_from_csv(upload.file, kind=job_kind(data["kind"])),
                params={"reason": data["reason"], "comment": data["reason"]},
                actor=self.request.user,
                dry_run=data["dry_run"],
                source=f"upload {upload.name}",
            )
        except ApplicationError as exc:
            field = next(iter(exc.field_errors), None)
            form.add_error(field if field in form.fields else "file", exc.message)
            return self.form_invalid(form)
        return redirect(job_url(job))


def start_job(request, *, kind: str, rows, params: dict, dry_run: bool, source: str):
    """Create a job for a page's bulk action and go to its page; a refusal (role,
    missing reason) is a message and the caller's page again (None)."""
    try:
        job = jobs.job_create(
            kind=kind,
            rows=rows,
            params=params,
            actor=request.user,
            dry_run=dry_run,
            source=source,
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return None
    return redirect(job_url(job))


class JobDetailView(RoleRequiredMixin, TemplateView):
    template_name = "backoffice/jobs/job_detail.html"
    allowed_roles = STAFF_ROLES

    def get_context_data(self, **kwargs):
        job = _job_or_404(self.request, kwargs["pk"])
        status = self.request.GET.get("status", "")
        if status not in JobRowStatus.values:
            status = ""
        kind = job_kind(job.kind)
        rows = Paginator(
            selectors.job_rows(job=job, status=status), ROWS_PER_PAGE
        ).get_page(self.request.GET.get("page"))
        return {
            **super().get_context_data(**kwargs),
            "job": job,
            "kind": kind,
            "progress": selectors.job_progress(job),
            "rows": rows,
            "row_cells": [
                (row, [row.data.get(column, "") for column in kind.columns])
                for row in rows
            ],
            "status_filter": status,
            "row_statuses": JobRowStatus.choices,
            "confirmed_as": getattr(job, "confirmed_as", None),
        }


class JobProgressView(RoleRequiredMixin, View):
    """The small JSON the progress bar polls."""

    allowed_roles = STAFF_ROLES

    def get(self, request, pk: int):
        return JsonResponse(selectors.job_progress(_job_or_404(request, pk)))


class JobResultsCsvView(RoleRequiredMixin, View):
    """Every row with its outcome, streamed: line, the input columns, status,
    reason, result."""

    allowed_roles = STAFF_ROLES

    def get(self, request, pk: int):
        job = _job_or_404(request, pk)
        columns = job_kind(job.kind).columns
        rows = (
            [row.line, *(row.data.get(c, "") for c in columns)]
            + [row.status, row.reason, row.result]
            for row in selectors.job_rows(job=job).iterator(chunk_size=2000)
        )
        return csv_response(
            filename=f"job-{job.pk}-results.csv",
            header=["line", *columns, "status", "reason", "result"],
            rows=rows,
        )


class JobConfirmView(RoleRequiredMixin, View):
    allowed_roles = STAFF_ROLES

    def post(self, request, pk: int):
        preview = _job_or_404(request, pk)
        try:
            job = jobs.job_confirm(job=preview, actor=request.user)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect(job_url(preview))
        messages.success(request, f"Job {job.pk} runs the dry run {preview.pk}.")
        return redirect(job_url(job))


class JobCancelView(RoleRequiredMixin, View):
    allowed_roles = STAFF_ROLES

    def post(self, request, pk: int):
        job = _job_or_404(request, pk)
        return run_action(
            request,
            lambda: jobs.job_cancel(job=job, actor=request.user),
            success=f"Job {job.pk} cancelled; rows not yet applied are skipped.",
            redirect_to=job_url(job),
        )
