"""Running bulk work as background jobs.

A job is created with all its input rows (`job_create`) and enqueued; the task
`oms.run_job` works through it in chunks (`job_run_chunk`), each row in its own
transaction:

1. claim the next pending row with `SELECT … FOR UPDATE SKIP LOCKED` (two runners of
   the same job never take the same row);
2. apply it through the job kind (the app's service) inside a savepoint;
3. write the row's outcome and the job's counters, and commit — the outcome and the
   effect commit together, so a row is applied once: a crash before the commit
   undoes both, after it the row is no longer pending.

A killed worker leaves the job `running` with a stale heartbeat; the beat sweep
(`jobs_resume_stale`) enqueues it again and the next runner continues with the rows
still pending.
"""

import csv
import io
import logging
from collections.abc import Iterable, Iterator, Mapping
from datetime import timedelta
from itertools import islice

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Min, Q
from django.db.models.fields.json import KT
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from oms.bulk import insert_rows
from oms.errors import ApplicationError, Conflict, PermissionDenied
from oms.jobs import JobKind, job_kind
from oms.models import Job, JobRow, JobRowStatus, JobStatus
from oms.queueing import enqueue_on_commit
from oms.services import events
from oms.services.transitions import apply_transition

logger = logging.getLogger(__name__)

INSERT_BATCH = 1000


def job_rows_from_csv(stream, *, kind: JobKind) -> Iterator[dict[str, str]]:
    """Rows of an uploaded CSV (binary or text stream) as dicts by the kind's
    columns, one at a time. The header must name the kind's columns first; a file
    with a single column may leave the header out."""
    text = (
        stream
        if isinstance(stream, io.TextIOBase)
        else io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    )
    reader = csv.reader(text)
    header_error = ApplicationError(
        f"The CSV must start with the header {','.join(kind.columns)}.",
        code="invalid_csv",
        field_errors={"file": [f"Header must be: {','.join(kind.columns)}."]},
    )
    try:
        first = [cell.strip() for cell in next(reader, [])]
        header = tuple(cell.lower() for cell in first[: len(kind.columns)])
        if header != kind.columns:
            if len(kind.columns) > 1 or not any(first):
                raise header_error
            yield dict(zip(kind.columns, first, strict=False))
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield dict(zip(kind.columns, cells, strict=False))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ApplicationError(
            f"Not a readable UTF-8 CSV file: {exc}",
            code="invalid_csv",
            field_errors={"file": ["Not a readable UTF-8 CSV file."]},
        ) from exc


def job_create(
    *,
    kind: str,
    rows: Iterable[Mapping],
    params: Mapping | None = None,
    actor,
    dry_run: bool = False,
    source: str = "",
) -> Job:
    """Create a job with its rows (stored in batches, so a long CSV is never held
    whole) and enqueue it after commit. The actor must hold a role of the kind;
    the parameters are checked now, each row when it runs. One transaction: a
    file that turns out unreadable halfway leaves no job behind."""
    job_type = _allowed_kind(kind, actor)
    cleaned = job_type.clean_params(params or {})
    with transaction.atomic():
        job = Job.objects.create(
            kind=job_type.name,
            dry_run=dry_run,
            params=cleaned,
            source=source[:200],
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        total = 0
        numbered = enumerate((job_type.clean_row(row) for row in rows), start=1)
        while batch := list(islice(numbered, INSERT_BATCH)):
            _insert_rows(job, batch)
            total += len(batch)
        if not total:
            raise ApplicationError(
                "The job has no rows.",
                code="job_without_rows",
                field_errors={"rows": ["Give at least one row."]},
            )
        job.rows_total = total
        job.rows_skipped = _skip_duplicates(job, job_type)
        job.save(update_fields=["rows_total", "rows_skipped"])
        _enqueue(job)
    return job


def _allowed_kind(kind: str, actor) -> JobKind:
    """The job kind, if `actor` holds one of its roles; 403 otherwise."""
    job_type = job_kind(kind)
    if not job_type.allowed_for(actor):
        raise PermissionDenied(
            f"Your role may not run {job_type.label.lower()}.",
            code="job_kind_not_allowed",
        )
    return job_type


def _insert_rows(job: Job, rows: list[tuple[int, dict]]) -> None:
    """Pending rows of `job` from (line, data) pairs, in one statement."""
    insert_rows(
        JobRow,
        [
            {
                "job": job.pk,
                "line": line,
                "data": data,
                "status": JobRowStatus.PENDING,
                "reason": "",
                "result": "",
            }
            for line, data in rows
        ],
    )


def _skip_duplicates(job: Job, job_type: JobKind) -> int:
    """Skip the rows that repeat an earlier row's `unique_by` columns (the first
    one runs); returns how many were skipped. Grouped in the database, so a long
    file is not held in memory."""
    if not job_type.unique_by:
        return 0
    keys = {f"key_{column}": KT(f"data__{column}") for column in job_type.unique_by}
    repeated = (
        JobRow.objects.filter(job=job)
        .annotate(**keys)
        .values(*keys)
        .annotate(first=Min("line"), rows=Count("id"))
        .filter(rows__gt=1)
    )
    skipped = 0
    for group in repeated.iterator():
        skipped += (
            JobRow.objects.filter(job=job, line__gt=group["first"])
            .filter(
                **{
                    f"data__{column}": group[f"key_{column}"]
                    for column in job_type.unique_by
                }
            )
            .update(
                status=JobRowStatus.SKIPPED,
                reason=f"Duplicate of line {group['first']}.",
                finished_at=timezone.now(),
            )
        )
    return skipped


def job_confirm(*, job: Job, actor) -> Job:
    """Run a finished dry run for real: a new job with the same kind, parameters and
    rows. A dry run is confirmed once; 409 while it is still running, when it was
    cancelled or when no row would succeed."""
    job_type = _allowed_kind(job.kind, actor)
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if not job.confirmable:
            raise Conflict(
                "Only a dry run that finished with rows that would succeed can be "
                "confirmed.",
                code="job_not_confirmable",
                extra={"current_state": job.status},
            )
        if Job.objects.filter(preview_of=job).exists():
            raise Conflict(
                "This dry run was confirmed already.", code="job_already_confirmed"
            )
        real = Job.objects.create(
            kind=job.kind,
            params=job.params,
            source=job.source,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            preview_of=job,
            rows_total=job.rows_total,
        )
        rows, last = job.rows.order_by("line").values_list("line", "data"), 0
        while batch := list(rows.filter(line__gt=last)[:INSERT_BATCH]):
            _insert_rows(real, batch)
            last = batch[-1][0]
        real.rows_skipped = _skip_duplicates(real, job_type)
        real.save(update_fields=["rows_skipped"])
        _enqueue(real)
    return real


def job_cancel(*, job: Job, actor) -> Job:
    """Stop a pending or running job: rows not yet applied are skipped; rows
    applied stay applied. 409 when the job has finished."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        apply_transition(job, "cancel", actor=actor, reason="Cancelled by hand.")
        job.save(update_fields=["status"])
    # Separately, after runners see the job cancelled: the rows first, then the
    # job (the order a runner takes its locks in).
    with transaction.atomic():
        skipped = JobRow.objects.filter(job=job, status=JobRowStatus.PENDING).update(
            status=JobRowStatus.SKIPPED,
            reason="The job was cancelled.",
            finished_at=timezone.now(),
        )
        Job.objects.filter(pk=job.pk).update(
            rows_skipped=F("rows_skipped") + skipped, finished_at=timezone.now()
        )
        _record_finished(Job.objects.get(pk=job.pk))
    job.refresh_from_db()
    return job


def _enqueue(job: Job) -> None:
    from oms.tasks import run_job_task

    enqueue_on_commit(run_job_task, job.pk)


def job_run_chunk(*, job_id: int, max_rows: int | None = None) -> bool:
    """Apply up to `max_rows` pending rows of a job (or for at most
    `OMS_JOB_CHUNK_SECONDS`); returns whether rows remain. Starts a pending job and
    finishes it when no row is left."""
    max_rows = max_rows or settings.OMS_JOB_CHUNK_ROWS
    job = _start(job_id)
    if job is None:
        return False
    job_type = job_kind(job.kind)
    deadline = timezone.now() + timedelta(seconds=settings.OMS_JOB_CHUNK_SECONDS)
    for _ in range(max_rows):
        if not _run_next_row(job, job_type):
            _finish(job_id)
            return False
        if timezone.now() >= deadline:
            break
    return True


def _start(job_id: int) -> Job | None:
    """The job, started if it was pending; None when it is not running."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.is_finished:
            return None
        if job.status == JobStatus.PENDING:
            apply_transition(job, "start", actor=job.created_by)
            job.started_at = timezone.now()
        job.heartbeat_at = timezone.now()
        job.save(update_fields=["status", "started_at", "heartbeat_at"])
        return job


def _run_next_row(job: Job, job_type: JobKind) -> bool:
    """Claim, apply and record one row in one transaction; False when no pending
    row is left to claim (or the job was cancelled)."""
    with transaction.atomic():
        row = (
            JobRow.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(job_id=job.pk, status=JobRowStatus.PENDING)
            .filter(job__status=JobStatus.RUNNING)
            .order_by("line")
            .first()
        )
        if row is None:
            return False
        try:
            with transaction.atomic():
                if job.dry_run:
                    row.result = job_type.preview(row=row.data, params=job.params)
                else:
                    row.result = job_type.apply(
                        row=row.data,
                        params=job.params,
                        actor=job.created_by,
                        reference=f"job:{job.pk}:{row.line}",
                    )
            row.succeed()
        except TransitionNotAllowed as exc:
            row.fail()
            row.reason = f"Not allowed now: {exc}"
        except ApplicationError as exc:
            row.fail()
            row.reason = exc.message
        except Exception:
            # A bug must not stall the job on this row forever: the savepoint has
            # undone the row's effect; the row fails and the log has the trace.
            logger.exception("Job %s line %s failed unexpectedly", job.pk, row.line)
            row.fail()
            row.reason = "Unexpected error; the server log has the details."
        row.finished_at = timezone.now()
        row.save(update_fields=["status", "result", "reason", "finished_at"])
        counter = (
            "rows_succeeded" if row.status == JobRowStatus.SUCCEEDED else "rows_failed"
        )
        Job.objects.filter(pk=job.pk).update(
            **{counter: F(counter) + 1}, heartbeat_at=row.finished_at
        )
    return True


def _finish(job_id: int) -> None:
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        if (
            job.status != JobStatus.RUNNING
            or job.rows.filter(status=JobRowStatus.PENDING).exists()
        ):
            return  # cancelled, or another runner still holds a row
        apply_transition(job, "finish", actor=job.created_by)
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "finished_at"])
        _record_finished(job)


def _record_finished(job: Job) -> None:
    events.record_event(
        "job.finished",
        job,
        {
            "job_id": job.pk,
            "kind": job.kind,
            "dry_run": job.dry_run,
            "status": job.status,
            "rows_total": job.rows_total,
            "rows_succeeded": job.rows_succeeded,
            "rows_failed": job.rows_failed,
            "rows_skipped": job.rows_skipped,
        },
    )


def jobs_resume_stale(*, stale_after: timedelta | None = None) -> list[int]:
    """Sweep: enqueue the jobs no runner works on — pending or running with no sign
    of life for `stale_after` (a lost message, a killed worker). Their heartbeat is
    moved on, so each is enqueued once per period; a second runner on a job that
    was only slow is harmless (rows are claimed with SKIP LOCKED)."""
    stale_after = stale_after or timedelta(seconds=settings.OMS_JOB_STALE_SECONDS)
    cutoff = timezone.now() - stale_after
    with transaction.atomic():
        jobs = list(
            Job.objects.select_for_update(skip_locked=True)
            .filter(status__in=[JobStatus.PENDING, JobStatus.RUNNING])
            .filter(
                Q(heartbeat_at__lt=cutoff)
                | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
            )
            .order_by("id")
        )
        Job.objects.filter(pk__in=[job.pk for job in jobs]).update(
            heartbeat_at=timezone.now()
        )
        for job in jobs:
            _enqueue(job)
    return [job.pk for job in jobs]
