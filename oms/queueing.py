"""Enqueueing Celery tasks from services.

Tasks only carry work that the database already holds (an outbox row, a due date), so
a failed publish (broker down) is logged, not raised: a periodic sweep re-derives the
work. This keeps a committed write from turning into an error for its caller.
"""

import logging

from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue(task, *args, **kwargs) -> None:
    """Publish now, once, without the client's retry loop (which would block a request
    for seconds during a broker outage)."""
    try:
        task.apply_async(args=args, kwargs=kwargs, retry=False)
    except Exception:
        logger.warning(
            "Could not enqueue %s; the sweep will pick it up.", task.name, exc_info=True
        )


def enqueue_on_commit(task, *args, **kwargs) -> None:
    """Enqueue after the current transaction commits (nothing if it rolls back)."""
    transaction.on_commit(lambda: enqueue(task, *args, **kwargs))
