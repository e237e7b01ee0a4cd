"""Keeping pushes moving: the sweeper, waking rows after a reconnect, and **Retry**.

Normally a push task is queued when its booking commits and re-queued by the
task itself (retries with a countdown). The sweeper is the safety net for
everything else (see ``outbox.sweeper``): a worker killed mid-push (its claim
expires), a message the broker lost, a countdown held by a worker that died, a
broker that was down when the booking committed. ``pushes_sweep`` is registered
with the outbox sweeper (``CalendarsConfig.ready``); it also wakes rows whose
account is connected again.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from calendars.dispatch import PUSH_TASK, pushes_enqueue_on_commit
from calendars.models import ConnectionStatus, PushedEvent, PushState
from outbox.sweeper import items_lost, items_requeue

logger = logging.getLogger(__name__)


def _pushable():
    return PushedEvent.objects.filter(calendar__connection__status=ConnectionStatus.CONNECTED)


def pushes_lost(*, now: datetime | None = None):
    """Pending pushes that are due, held by nobody, and that nobody queued recently."""
    now = now or timezone.now()
    return items_lost(items=_pushable(), now=now, requeue_after=settings.CALENDAR_REQUEUE_AFTER)


def pushes_sweep(*, now: datetime | None = None) -> list[int]:
    """Re-queue lost pushes (and wake rows whose account is connected again); their ids."""
    now = now or timezone.now()
    _settle_states(now=now)
    ids = items_requeue(
        items=_pushable(), task=PUSH_TASK, now=now, requeue_after=settings.CALENDAR_REQUEUE_AFTER
    )
    if ids:
        logger.info("sweep_pushes: re-queued %d push(es): %s", len(ids), ids[:20])
    return ids


def _settle_states(*, now: datetime) -> None:
    """Rows waiting for an account that is connected again go; pending ones for a lost one wait."""
    connected = Q(calendar__connection__status=ConnectionStatus.CONNECTED)
    woken = PushedEvent.objects.filter(connected, state=PushState.WAITING).update(
        state=PushState.PENDING, attempts=0, next_attempt_at=None, queued_at=None, updated_at=now
    )
    if woken:
        logger.info("sweep_pushes: %d push(es) no longer wait for a reconnect", woken)
    PushedEvent.objects.filter(state=PushState.PENDING).exclude(connected).update(
        state=PushState.WAITING, updated_at=now
    )


def pushes_wake_for_connection(*, connection_id: int, now: datetime | None = None) -> list[int]:
    """After a reconnect: the account's waiting pushes become pending and are queued on commit."""
    now = now or timezone.now()
    ids = list(
        PushedEvent.objects.filter(
            calendar__connection_id=connection_id, state=PushState.WAITING
        ).values_list("pk", flat=True)
    )
    PushedEvent.objects.filter(pk__in=ids, state=PushState.WAITING).update(
        state=PushState.PENDING, attempts=0, next_attempt_at=None, queued_at=now, updated_at=now
    )
    pushes_enqueue_on_commit(ids)
    return ids


@transaction.atomic
def pushed_event_retry(*, pushed_event_id: int, host) -> str | None:
    """The host's **Retry** on a failed push: a fresh round of attempts.

    Returns the row's new state: ``pending`` (queued now) or ``waiting`` (its account is
    disconnected: it goes out after a reconnect); None if the row had not failed.
    """
    row = (
        PushedEvent.objects.select_for_update()
        .select_related("calendar__connection")
        .filter(pk=pushed_event_id, host=host, state=PushState.FAILED)
        .first()
    )
    if row is None:
        return None
    connected = row.calendar.connection.status == ConnectionStatus.CONNECTED
    row.state = PushState.PENDING if connected else PushState.WAITING
    row.attempts = 0
    row.next_attempt_at = None
    row.last_error = ""
    row.queued_at = timezone.now()
    row.save(
        update_fields=[
            "state",
            "attempts",
            "next_attempt_at",
            "last_error",
            "queued_at",
            "updated_at",
        ]
    )
    if connected:
        pushes_enqueue_on_commit([row.pk])
    logger.info("Host %s asked to retry push row=%s (%s)", host.pk, row.pk, row.source)
    return row.state
