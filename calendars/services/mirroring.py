"""Asking for an event to exist (or not) in a host's calendars.

Callers (``booking``) use these inside their own transaction: the rows written
here are the outbox that the push worker drains. A push task per changed row is
queued when the caller's transaction commits (nothing is queued for a rollback,
nor for rows that wait for a disconnected account). Nothing here talks to a
provider.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from calendars.dispatch import pushes_enqueue_on_commit
from calendars.events import EventDescription
from calendars.models import Calendar, ConnectionStatus, PushedEvent, PushState
from ops.compiled_inserts import insert_rows


def _payloads(event: EventDescription, calendars: Sequence[Calendar]) -> dict[int, dict]:
    """Each calendar's event, by calendar pk: the first calendar's is the meeting (it
    invites the attendees and carries the online meeting), the others' are copies for the
    host's records (``record_copy``). So one source makes one invitation and one meeting,
    however many calendars hold it."""
    copy = event.record_copy().to_json()
    payloads = {calendar.pk: copy for calendar in calendars}
    if calendars:
        payloads[calendars[0].pk] = event.to_json()
    return payloads


def _state_for(calendar: Calendar) -> str:
    connected = calendar.connection.status == ConnectionStatus.CONNECTED
    return PushState.PENDING if connected else PushState.WAITING


@transaction.atomic
def event_mirror(
    *, host, source: str, event: EventDescription, calendars: Sequence[Calendar]
) -> list[PushedEvent]:
    """Make ``event`` wanted in exactly ``calendars`` of the host's connected accounts: as
    the meeting in the first, as a copy for the host's records in the others (``_payloads``).

    Creates rows for new calendars, bumps the version of existing ones, and marks
    rows in other *connected* calendars as no longer wanted. Rows in calendars of
    disconnected accounts are left as they are. Returns the rows that changed.
    """
    payloads = _payloads(event, calendars)
    # Fresh rows: the connection's status decides whether a push can go out now.
    targets = {
        calendar.pk: calendar
        for calendar in Calendar.objects.select_related("connection").filter(
            pk__in=[calendar.pk for calendar in calendars]
        )
    }
    changed: list[PushedEvent] = []
    existing = {
        row.calendar_id: row
        for row in PushedEvent.objects.select_for_update()
        .select_related("calendar__connection")
        .filter(source=source)
    }
    for calendar_id, calendar in targets.items():
        row = existing.get(calendar_id)
        payload = payloads[calendar_id]
        if row is None:
            row = PushedEvent.objects.create(
                host=host,
                calendar=calendar,
                source=source,
                payload=payload,
                state=_state_for(calendar),
                queued_at=timezone.now(),
            )
        elif row.payload == payload and row.wanted:
            continue
        else:
            row.payload, row.wanted = payload, True
            _bump(row)
        changed.append(row)
    for calendar_id, row in existing.items():
        if calendar_id in targets or not row.wanted:
            continue
        if row.calendar.connection.status != ConnectionStatus.CONNECTED:
            continue
        row.wanted = False
        _bump(row)
        changed.append(row)
    _enqueue(changed)
    return changed


def event_mirror_new(
    *, host, source: str, event: EventDescription, calendars: Sequence[Calendar]
) -> list[PushedEvent]:
    """``event_mirror`` for a ``source`` that has no rows yet (a booking being made), in
    one INSERT and no read: ``calendars`` come with their connections loaded, whose
    status decides whether each push goes out now or waits. A source that did have rows
    breaks the caller's transaction (one row per source and calendar, a constraint)."""
    payloads = _payloads(event, calendars)
    now = timezone.now()
    targets = {calendar.pk: calendar for calendar in calendars}
    rows = insert_rows(
        [
            PushedEvent(
                host=host,
                calendar=calendar,
                source=source,
                payload=payloads[calendar.pk],
                state=_state_for(calendar),
                queued_at=now,
            )
            for calendar in targets.values()
        ]
    )
    _enqueue(rows)
    return rows


@transaction.atomic
def event_unmirror(*, source: str) -> list[PushedEvent]:
    """Ask for the event to be removed from every calendar it was mirrored to."""
    changed = []
    rows = PushedEvent.objects.select_for_update().select_related("calendar__connection")
    for row in rows.filter(source=source, wanted=True):
        row.wanted = False
        _bump(row)
        changed.append(row)
    _enqueue(changed)
    return changed


def _enqueue(rows: list[PushedEvent]) -> None:
    pushes_enqueue_on_commit(row.pk for row in rows if row.state == PushState.PENDING)


def _bump(row: PushedEvent) -> None:
    """A new desired state: a fresh round of attempts. Saves only the desired-state fields,
    so a worker's record of what it achieved (remote id, claim) is never overwritten."""
    row.version += 1
    row.attempts = 0
    row.next_attempt_at = None
    row.last_error = ""
    row.state = _state_for(row.calendar)
    row.queued_at = timezone.now()
    row.save(
        update_fields=[
            "payload",
            "wanted",
            "version",
            "attempts",
            "next_attempt_at",
            "last_error",
            "state",
            "queued_at",
            "updated_at",
        ]
    )
