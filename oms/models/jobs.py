from django.conf import settings
from django.db import models
from django_fsm import RETURN_VALUE, FSMField, FSMModelMixin, transition


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTLY_FAILED = "partly_failed", "Partly failed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class JobRowStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


FINISHED_JOB_STATUSES = [
    JobStatus.SUCCEEDED,
    JobStatus.PARTLY_FAILED,
    JobStatus.FAILED,
    JobStatus.CANCELLED,
]


class Job(FSMModelMixin, models.Model):
    """Bulk work run in the background: one row per input row (`JobRow`), applied
    by Celery in chunks through the owning app's service (`oms.jobs`). A dry run
    applies nothing: each row reports what would happen."""

    kind = models.CharField(max_length=60)
    status = FSMField(
        max_length=20,
        choices=JobStatus.choices,
        default=JobStatus.PENDING,
        protected=True,
    )
    dry_run = models.BooleanField(default=False)
    params = models.JSONField(
        default=dict, blank=True, help_text="Settings of the whole job (a reason, …)."
    )
    source = models.CharField(
        max_length=200, blank=True, help_text="Where the rows came from."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
    )
    preview_of = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="confirmed_as",
        help_text="The dry run this job was confirmed from.",
    )
    rows_total = models.PositiveIntegerField(default=0)
    rows_succeeded = models.PositiveIntegerField(default=0)
    rows_failed = models.PositiveIntegerField(default=0)
    rows_skipped = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Last sign of life of a runner; a running job silent for long is re-enqueued.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=JobStatus.values),
                name="job_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    rows_total__gte=models.F("rows_succeeded")
                    + models.F("rows_failed")
                    + models.F("rows_skipped")
                ),
                name="job_rows_done_within_total",
            ),
        ]
        indexes = [
            models.Index(
                fields=["heartbeat_at"],
                name="job_unfinished_idx",
                condition=models.Q(status__in=["pending", "running"]),
            ),
            models.Index(fields=["kind", "id"], name="job_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"Job {self.pk} {self.kind}{' (dry run)' if self.dry_run else ''}"

    @property
    def rows_done(self) -> int:
        return self.rows_succeeded + self.rows_failed + self.rows_skipped

    @property
    def progress_percent(self) -> int:
        if not self.rows_total:
            return 100 if self.is_finished else 0
        return self.rows_done * 100 // self.rows_total

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_JOB_STATUSES

    @property
    def confirmable(self) -> bool:
        """A dry run whose rows (some at least) would succeed, ready to run for real."""
        return self.dry_run and self.status in (
            JobStatus.SUCCEEDED,
            JobStatus.PARTLY_FAILED,
        )

    @transition(field=status, source=JobStatus.PENDING, target=JobStatus.RUNNING)
    def start(self) -> None:
        pass

    @transition(
        field=status,
        source=JobStatus.RUNNING,
        target=RETURN_VALUE(
            JobStatus.SUCCEEDED, JobStatus.PARTLY_FAILED, JobStatus.FAILED
        ),
    )
    def finish(self) -> str:
        if not self.rows_failed:
            return JobStatus.SUCCEEDED
        return JobStatus.PARTLY_FAILED if self.rows_succeeded else JobStatus.FAILED

    @transition(
        field=status,
        source=[JobStatus.PENDING, JobStatus.RUNNING],
        target=JobStatus.CANCELLED,
    )
    def cancel(self) -> None:
        pass


class JobRow(FSMModelMixin, models.Model):
    """One input row of a job and its outcome. Its outcome is committed in the same
    transaction as its effect, so a row is never applied twice."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="rows")
    line = models.PositiveIntegerField(help_text="Position in the input (CSV line).")
    data = models.JSONField(default=dict)
    status = FSMField(
        max_length=20,
        choices=JobRowStatus.choices,
        default=JobRowStatus.PENDING,
        protected=True,
    )
    reason = models.TextField(blank=True, help_text="Why it failed or was skipped.")
    result = models.TextField(blank=True, help_text="What was done (or would be).")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job", "line"]
        constraints = [
            models.UniqueConstraint(fields=["job", "line"], name="job_row_line_unique"),
            models.CheckConstraint(
                condition=models.Q(status__in=JobRowStatus.values),
                name="job_row_status_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["job", "line"],
                name="job_row_pending_idx",
                condition=models.Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"Job {self.job_id} line {self.line}: {self.status}"

    # A row's outcome is written once by the runner; these transitions are not
    # logged per row (that would double the writes of a 100,000-row job): the job
    # keeps the counts and the row its own reason and time.
    @transition(
        field=status, source=JobRowStatus.PENDING, target=JobRowStatus.SUCCEEDED
    )
    def succeed(self) -> None:
        pass

    @transition(field=status, source=JobRowStatus.PENDING, target=JobRowStatus.FAILED)
    def fail(self) -> None:
        pass
