"""Read queries of the kernel, shared by the API and the pages."""

from django.conf import settings
from django.db.models import QuerySet

from oms.errors import NotFound
from oms.jobs import kinds_for
from oms.models import (
    Event,
    Job,
    JobRow,
    StateTransition,
    WebhookDelivery,
    WebhookSubscription,
)
from oms.roles import has_role
from oms.services.events import actor_name, pattern_matches


def event_feed(
    *, after: int = 0, name_pattern: str = "", limit: int = 100
) -> list[Event]:
    """Sequenced events after `after`, oldest first. A pattern such as `order.*`
    filters by name; events keep their ids, so a filtered consumer sees gaps."""
    limit = max(1, min(limit, settings.OMS_EVENT_FEED_MAX_PAGE))
    queryset = Event.objects.filter(sequence__gt=after).order_by("sequence")
    if not name_pattern:
        return list(queryset[:limit])
    if "*" not in name_pattern and "?" not in name_pattern:
        return list(queryset.filter(name=name_pattern)[:limit])
    prefix = name_pattern.split("*")[0].split("?")[0]
    if prefix:
        queryset = queryset.filter(name__startswith=prefix)
    matched: list[Event] = []
    for event in queryset.iterator(chunk_size=limit):
        if pattern_matches([name_pattern], event.name):
            matched.append(event)
            if len(matched) == limit:
                break
    return matched


def subscription_list(*, user=None) -> QuerySet[WebhookSubscription]:
    """All subscriptions for an admin (or without a user); an integration's own
    otherwise."""
    queryset = WebhookSubscription.objects.order_by("name", "id")
    if user is not None and not has_role(user):
        queryset = queryset.filter(owner=user)
    return queryset


def delivery_list(
    *,
    subscription_id: int | None = None,
    status: str | None = None,
    user=None,
) -> QuerySet[WebhookDelivery]:
    """The delivery log, newest first, of the subscriptions `user` may see."""
    queryset = WebhookDelivery.objects.select_related("event", "subscription").order_by(
        "-id"
    )
    if user is not None and not has_role(user):
        queryset = queryset.filter(subscription__owner=user)
    if subscription_id:
        queryset = queryset.filter(subscription_id=subscription_id)
    if status:
        queryset = queryset.filter(status=status)
    return queryset


def entity_timeline(*, entity_type: str, entity_id) -> list[dict]:
    """Events and state transitions of one entity, merged in time order."""
    events = Event.objects.filter(entity_type=entity_type, entity_id=str(entity_id))
    transitions = StateTransition.objects.filter(
        entity_type=entity_type, entity_id=str(entity_id)
    ).select_related("actor")
    items = [
        {
            "kind": "event",
            "at": e.occurred_at,
            "name": e.name,
            "payload": e.payload,
            "actor": e.payload.get("by", ""),
        }
        for e in events
    ] + [
        {
            "kind": "transition",
            "at": t.occurred_at,
            "name": f"{t.source} → {t.target}",
            "transition": t.transition,
            "actor": actor_name(t.actor),
            "reason": t.reason,
        }
        for t in transitions
    ]
    return sorted(items, key=lambda item: item["at"])


def job_list(*, user) -> QuerySet[Job]:
    """The jobs of the kinds `user` may run, newest first."""
    kinds = [kind.name for kind in kinds_for(user)]
    return Job.objects.filter(kind__in=kinds).select_related("created_by")


def job_get(*, user, job_id: int) -> Job:
    """One job, if `user` may run its kind; 404 otherwise (also for jobs of
    other roles: their existence is not disclosed)."""
    job = job_list(user=user).filter(pk=job_id).first()
    if job is None:
        raise NotFound(f"No job {job_id}.", code="job_not_found")
    return job


def job_rows(*, job: Job, status: str = "") -> QuerySet[JobRow]:
    """A job's rows in input order, optionally of one status."""
    rows = job.rows.order_by("line")
    return rows.filter(status=status) if status else rows


def job_progress(job: Job) -> dict:
    """What the progress bar polls."""
    return {
        "id": job.pk,
        "kind": job.kind,
        "dry_run": job.dry_run,
        "status": job.status,
        "status_label": job.get_status_display(),
        "finished": job.is_finished,
        "rows_total": job.rows_total,
        "rows_done": job.rows_done,
        "rows_succeeded": job.rows_succeeded,
        "rows_failed": job.rows_failed,
        "rows_skipped": job.rows_skipped,
        "progress_percent": job.progress_percent,
    }
