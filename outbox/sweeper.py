"""The safety net of every outbox: re-queue items whose task was lost.

A task is normally queued when its item commits and re-queued by the task itself
(retries with a countdown). The sweeper catches everything else: a worker killed
mid-attempt (its lease runs out), a message the broker lost, a countdown held by a
worker that died, a broker that was down when the item committed. It only queues;
the task decides whether there is work, so sweeping twice, or while workers run,
is harmless.

Each outbox registers one sweep function (``sweeper_register``, from its app's
``AppConfig.ready``); beat's ``outbox-sweep`` entry runs them all
(``outbox.tasks.sweep_outboxes``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from outbox import dispatch
from outbox.claims import is_unclaimed
from outbox.models import PENDING

logger = logging.getLogger(__name__)

SWEEP_BATCH = 1000

Sweep = Callable[[datetime], list[int]]
_SWEEPS: dict[str, Sweep] = {}


def sweeper_register(name: str, sweep: Sweep) -> None:
    """Run ``sweep(now)`` on every outbox sweep; it returns the ids it re-queued."""
    _SWEEPS[name] = sweep


def sweeps_run(*, now: datetime | None = None) -> dict[str, int]:
    """Run every registered sweep; how many items each re-queued. One failing is logged."""
    now = now or timezone.now()
    counts: dict[str, int] = {}
    for name, sweep in sorted(_SWEEPS.items()):
        try:
            counts[name] = len(sweep(now))
        except Exception:
            logger.exception("outbox sweep %s failed", name)
    return counts


def items_lost(*, items: QuerySet, now: datetime, requeue_after: float) -> QuerySet:
    """Pending items that are due, held by nobody, and that nobody queued recently."""
    quiet_since = now - timedelta(seconds=requeue_after)
    return (
        items.filter(state=PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(is_unclaimed(now=now))
        .filter(Q(queued_at__isnull=True) | Q(queued_at__lte=quiet_since))
    )


def items_requeue(
    *,
    items: QuerySet,
    task: str,
    now: datetime,
    requeue_after: float,
    send: Callable[[int], object] | None = None,
) -> list[int]:
    """Queue ``task`` again for every lost item of ``items`` (at most SWEEP_BATCH); their ids.

    ``send(pk)`` queues one (by default ``task`` with the id as its only argument).
    """
    lost = items_lost(items=items, now=now, requeue_after=requeue_after)
    ids = list(lost.order_by("pk").values_list("pk", flat=True)[:SWEEP_BATCH])
    if not ids:
        return []
    items.model.objects.filter(pk__in=ids).update(queued_at=now)
    for pk in ids:
        if send is not None:
            send(pk)
        else:
            dispatch.task_send(task, args=[pk])
    return ids
