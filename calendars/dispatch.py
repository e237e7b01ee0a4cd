"""Sending calendar work to the Celery workers, by task name.

Services call these instead of importing ``calendars.tasks`` (which imports the
services). The ``*_on_commit`` forms send only once the caller's transaction
commits, so a rolled-back booking queues nothing and a worker never looks for
a row that is not there yet. A broker that cannot be reached is logged, never
raised: the rows stay pending and the sweeper queues them later.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)

PUSH_TASK = "calendars.tasks.push_event"
SYNC_TASK = "calendars.tasks.sync_connection"


def _send(name: str, *, args: list, countdown: float | None) -> bool:
    try:
        current_app.send_task(name, args=args, countdown=countdown)
    except Exception:  # the broker is down: sweeper and beat catch up later
        logger.warning(
            "Could not queue %s%s; it will be picked up later", name, args, exc_info=True
        )
        return False
    return True


def push_enqueue(pushed_event_id: int, *, countdown: float | None = None) -> bool:
    """Queue one push now (or after ``countdown`` seconds); False if the broker refused."""
    return _send(PUSH_TASK, args=[pushed_event_id], countdown=countdown)


def pushes_enqueue_on_commit(pushed_event_ids: Iterable[int]) -> None:
    """Queue a push per row once the current transaction commits."""
    ids = sorted(set(pushed_event_ids))
    if ids:
        transaction.on_commit(lambda: [push_enqueue(pk) for pk in ids])


def sync_enqueue(connection_id: int, *, countdown: float | None = None) -> bool:
    """Queue a busy-time sync of one connection."""
    return _send(SYNC_TASK, args=[connection_id], countdown=countdown)


def sync_enqueue_on_commit(connection_id: int) -> None:
    """Queue a busy-time sync of one connection once the current transaction commits."""
    transaction.on_commit(lambda: sync_enqueue(connection_id))
