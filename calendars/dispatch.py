"""Sending calendar work to the Celery workers, by task name (through ``outbox.dispatch``).

Services call these instead of importing ``calendars.tasks`` (which imports the
services). The ``*_on_commit`` forms send only once the caller's transaction
commits, so a rolled-back booking queues nothing and a worker never looks for
a row that is not there yet; they send from a background thread, so a request
never waits on the broker. A broker that cannot be reached is logged, never
raised: the rows stay pending and the sweeper queues them later.
"""

from __future__ import annotations

from collections.abc import Iterable

from outbox import dispatch

PUSH_TASK = "calendars.tasks.push_event"
SYNC_TASK = "calendars.tasks.sync_connection"
dispatch.bundle_allow(PUSH_TASK)  # a booking's push travels with its emails


def push_enqueue(pushed_event_id: int, *, countdown: float | None = None) -> bool:
    """Queue one push now (or after ``countdown`` seconds); False if the broker refused, or
    the countdown is longer than the broker holds a task (``dispatch.MAX_COUNTDOWN``: the
    push sweeper queues it once it is due)."""
    if not dispatch.countdown_held(countdown):
        return False
    return dispatch.task_send(PUSH_TASK, args=[pushed_event_id], countdown=countdown)


def pushes_enqueue_on_commit(pushed_event_ids: Iterable[int]) -> None:
    """Queue a push per row once the current transaction commits."""
    dispatch.task_send_on_commit(
        PUSH_TASK, args_list=[[pk] for pk in sorted(set(pushed_event_ids))]
    )


def sync_enqueue(connection_id: int, *, countdown: float | None = None) -> bool:
    """Queue a busy-time sync of one connection; not when the countdown is longer than the
    broker holds a task (``dispatch.MAX_COUNTDOWN``: beat's cycle queues it then)."""
    if not dispatch.countdown_held(countdown):
        return False
    return dispatch.task_send(SYNC_TASK, args=[connection_id], countdown=countdown)


def sync_enqueue_on_commit(connection_id: int) -> None:
    """Queue a busy-time sync of one connection once the current transaction commits."""
    dispatch.task_send_on_commit(SYNC_TASK, args_list=[[connection_id]])
