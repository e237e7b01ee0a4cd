"""What one attempt at an outbox item did, typed rather than a bare string."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    """An attempt's result. Values are plain words, so logs and task results read well."""

    SYNCED = "synced"  # done: the outside world now matches the item (event made, email sent)
    RETRY = "retry"  # failed in a way that may pass: run again in ``retry_in`` seconds
    REQUEUE = "requeue"  # the item changed while being worked on: run again now
    BUSY = "busy"  # a shared limit was full (not an attempt): run again shortly
    FAILED = "failed"  # given up on; a person may ask for a retry
    WAITING = "waiting"  # parked until something outside changes (e.g. a reconnect)
    SKIPPED = "skipped"  # nothing to do: settled, not due, or another worker holds it
    LOST = "lost"  # our lease ran out and another worker took over: nothing recorded


@dataclass(frozen=True)
class Outcome:
    """``retry_in`` (seconds): the caller queues the item again then; None: it does not."""

    status: Status
    retry_in: float | None = None
