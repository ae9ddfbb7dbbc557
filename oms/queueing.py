"""Enqueueing Celery tasks from services.

Tasks only carry work that the database already holds (an outbox row, a due date), so
a failed publish (broker down) is logged, not raised: a periodic sweep re-derives the
work. This keeps a committed write from turning into an error for its caller.
"""

import functools
import logging

import redis
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

# How long a wake-up counts as waiting for a worker: a flag whose message was lost
# lets the next commit publish again after this, and the beat sweep covers the gap.
KICK_PENDING_SECONDS = 30


def enqueue(task, *args, **kwargs) -> bool:
    """Publish now, once, without the client's retry loop (which would block a request
    for seconds during a broker outage). Returns whether the broker took it."""
    try:
        task.apply_async(args=args, kwargs=kwargs, retry=False)
    except Exception:
        logger.warning(
            "Could not enqueue %s; the sweep will pick it up.", task.name, exc_info=True
        )
        return False
    return True


def enqueue_on_commit(task, *args, **kwargs) -> None:
    """Enqueue after the current transaction commits (nothing if it rolls back)."""
    transaction.on_commit(lambda: enqueue(task, *args, **kwargs))


@functools.cache
def _flag_store() -> redis.Redis | None:
    """Where wake-up flags live: the broker's Redis, talked to directly (Django's
    cache wrapper builds a client per call, which costs more than the command).
    None in embedded mode, where tasks run at once and nothing waits."""
    if not settings.REDIS_URL:
        return None
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1
    )


def _kick_key(task) -> str:
    return f"kick-pending:{settings.CELERY_TASK_DEFAULT_QUEUE}:{task.name}"


def kick(*tasks) -> None:
    """Wake each of `tasks` (which take no arguments) unless a wake-up is already
    waiting for a worker.

    For tasks that take, when they start, all the work the database holds (the
    outbox dispatcher, the pending workflow steps): the one waiting message serves
    every commit before it starts, so a busy intake publishes a message per run of
    the task rather than one per request (a Redis `SET NX` costs a fraction of a
    publish, and the flags of several tasks go in one round trip). The task calls
    `kick_taken` before it reads the database, so a commit that comes later finds
    no flag and publishes again."""
    for task in _not_waiting(tasks):
        if not enqueue(task):
            kick_taken(task)  # nothing waits: the next commit must try again


def _not_waiting(tasks) -> list:
    """The tasks among `tasks` that had no wake-up waiting, now flagged as having
    one (all of them if the flags are unavailable)."""
    store = _flag_store()
    if store is None:
        return list(tasks)
    pipeline = store.pipeline(transaction=False)
    for task in tasks:
        pipeline.set(_kick_key(task), 1, nx=True, ex=KICK_PENDING_SECONDS)
    try:
        flagged = pipeline.execute()
    except redis.RedisError:
        logger.warning("Kick flags unavailable; publishing anyway.")
        return list(tasks)
    return [task for task, newly in zip(tasks, flagged, strict=True) if newly]


def kick_taken(task) -> None:
    """Called by a kicked task first thing: the next commit publishes a new wake-up."""
    store = _flag_store()
    if store is None:
        return
    try:
        store.delete(_kick_key(task))
    except redis.RedisError:
        logger.warning("Kick flag unavailable for %s.", task.name)


def kick_on_commit(task) -> None:
    """`kick` after the current transaction commits (nothing if it rolls back).
    The tasks a transaction kicks share one callback, and one round trip to Redis."""
    connection = transaction.get_connection()
    for _, callback, _ in connection.run_on_commit:
        if isinstance(callback, _KicksAfterCommit):
            # Django drops the callbacks of a savepoint that rolls back; a task
            # added from one that rolls back later only costs a wake-up for nothing.
            if task not in callback.tasks:
                callback.tasks.append(task)
            return
    transaction.on_commit(_KicksAfterCommit([task]))


class _KicksAfterCommit:
    def __init__(self, tasks: list):
        self.tasks = tasks

    def __call__(self) -> None:
        kick(*self.tasks)
