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


def kick(task) -> None:
    """Wake `task` (which takes arguments of none) unless a wake-up is already
    waiting for a worker.

    For tasks that take, when they start, all the work the database holds (the
    outbox dispatcher, the pending workflow steps): the one waiting message serves
    every commit before it starts, so a busy intake publishes a message per run of
    the task rather than one per request (a Redis `SET NX` costs a fraction of a
    publish). The task calls `kick_taken` before it reads the database, so a commit
    that comes later finds no flag and publishes again."""
    store = _flag_store()
    if store is not None:
        try:
            if not store.set(_kick_key(task), 1, nx=True, ex=KICK_PENDING_SECONDS):
                return
        except redis.RedisError:
            logger.warning("Kick flag unavailable; publishing %s anyway.", task.name)
    if not enqueue(task):
        kick_taken(task)  # nothing waits: the next commit must try again


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
    """`kick` after the current transaction commits (nothing if it rolls back)."""
    transaction.on_commit(lambda: kick(task))
