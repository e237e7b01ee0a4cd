"""Recurring series: what a calendar view shows of them, and their occurrences by id.

A series is stored as its master (``Event.recurrence`` set, ``start``/``end`` its first
occurrence) plus a row for each occurrence that differs from the pattern: an
*exception* (changed: ``series_master`` and ``original_start`` set) or a removed
occurrence (the same, ``deleted``). Every other occurrence is made here when a view
asks for it, as an unsaved ``Event`` copied from its master with the id
``recurrence.occurrence_id(master, original start)``; Graph's ``type`` tells them
apart (``event_type``).

What the views show, as Microsoft documents: ``calendarView`` (and its delta, and
``getSchedule``) hold single instances, occurrences and exceptions, never a series
master nor a removed occurrence; ``GET /events`` lists single instances and series
masters; ``/events/{master}/instances`` lists one series' occurrences and exceptions.
"""

from __future__ import annotations

import copy
from datetime import datetime

from django.db.models import Q, QuerySet

from graph_sandbox.clock import sandbox_now
from graph_sandbox.models import Calendar, Event
from graph_sandbox.recurrence import (
    Occurrence,
    occurrence_id,
    occurrence_id_parse,
    occurrences,
)
from graph_sandbox.subscriptions.outbox import change_record

# How many earlier timings of a series are kept for delta queries (``timing_history``).
HISTORY_KEPT = 20


def timing_of(event: Event) -> dict:
    """What decides a series' occurrences (or a single event's time), for its history."""
    return {
        "recurrence": event.recurrence,
        "start": event.start.isoformat(),
        "end": event.end.isoformat(),
        "start_time_zone": event.start_time_zone,
    }


def exceptions_drop(master: Event, *, stamp, detach: bool = True) -> None:
    """The series' exceptions go (as deleted), and (``detach``) its removed occurrences
    stop being removed: the series' pattern or times changed, or it was deleted."""
    now = sandbox_now()
    for row in Event.objects.filter(series_master=master).select_related("calendar"):
        was_live = not row.deleted
        row.deleted = True
        if detach:
            row.series_master = None
        if was_live:
            stamp(row, now)
        row.save()
        if was_live:
            change_record(event=row, change_type="deleted")


def event_type(event: Event) -> str:
    if event.recurrence:
        return "seriesMaster"
    if getattr(event, "occurrence_of", None) is not None:
        return "occurrence"
    if event.series_master_id is not None:
        return "exception"
    return "singleInstance"


def series_master_graph_id(event: Event) -> str | None:
    master = getattr(event, "occurrence_of", None)
    if master is not None:
        return master.graph_id
    if event.series_master_id is not None:
        return event.series_master.graph_id
    return None


def occurrence_make(master: Event, occurrence: Occurrence) -> Event:
    """An occurrence of ``master`` as an (unsaved) event."""
    made = copy.copy(master)
    made.pk = None
    made.graph_id = occurrence_id(master.graph_id, occurrence.original_start)
    made.start, made.end = occurrence.start, occurrence.end
    made.recurrence = None
    made.series_end = None
    made.timing_history = []
    made.original_start = occurrence.original_start
    made.occurrence_of = master
    return made


def master_occurrences(
    master: Event, *, start: datetime | None = None, end: datetime | None = None, timing=None
) -> list[Occurrence]:
    """The occurrences the master's pattern gives in [start, end) (``timing``: an older
    entry of its ``timing_history`` instead of its present times)."""
    source = timing or {
        "recurrence": master.recurrence,
        "start": master.start.isoformat(),
        "end": master.end.isoformat(),
        "start_time_zone": master.start_time_zone,
    }
    first = datetime.fromisoformat(source["start"])
    return occurrences(
        source["recurrence"],
        first_start=first,
        duration=datetime.fromisoformat(source["end"]) - first,
        time_zone=source["start_time_zone"],
        window_start=start,
        window_end=end,
    )


def _masters(calendar: Calendar, start: datetime, end: datetime) -> QuerySet[Event]:
    return (
        Event.objects.filter(
            calendar=calendar, deleted=False, recurrence__isnull=False, start__lt=end
        )
        .filter(Q(series_end__isnull=True) | Q(series_end__gt=start))
        .select_related("calendar__owner", "organizer")
    )


def _taken(masters: list[Event]) -> set[tuple[int, datetime]]:
    """(master pk, original start) of every occurrence that has its own row."""
    rows = Event.objects.filter(series_master__in=masters).values_list(
        "series_master_id", "original_start"
    )
    return set(rows)


def expanded(masters: list[Event], start: datetime, end: datetime) -> list[Event]:
    """The occurrences of ``masters`` in [start, end) that follow the pattern unchanged."""
    taken = _taken(masters) if masters else set()
    result = []
    for master in masters:
        for occurrence in master_occurrences(master, start=start, end=end):
            if (master.pk, occurrence.original_start) not in taken:
                result.append(occurrence_make(master, occurrence))
    return result


def view_rows(calendar: Calendar, start: datetime, end: datetime) -> QuerySet[Event]:
    """Stored rows a calendar view shows: single instances and exceptions (not masters)."""
    return (
        Event.objects.filter(
            calendar=calendar,
            deleted=False,
            recurrence__isnull=True,
            start__lt=end,
            end__gt=start,
        )
        .select_related("calendar__owner", "organizer", "series_master")
        .order_by("start", "id")
    )


def view_items(
    calendar: Calendar, start: datetime, end: datetime, *, upto: int | None = None
) -> list[Event]:
    """Everything a calendar view of [start, end) shows, earliest first (``upto``: only
    what was last changed at or before that change number)."""
    rows = view_rows(calendar, start, end)
    masters = _masters(calendar, start, end)
    if upto is not None:
        rows, masters = rows.filter(seq__lte=upto), masters.filter(seq__lte=upto)
    items = list(rows) + expanded(list(masters), start, end)
    items.sort(key=lambda e: (e.start, e.end, e.graph_id))
    return items


def has_series(calendar: Calendar, start: datetime, end: datetime) -> bool:
    return _masters(calendar, start, end).exists()


def instances(master: Event, start: datetime, end: datetime) -> list[Event]:
    """The series' occurrences and exceptions in [start, end), earliest first."""
    rows = list(
        Event.objects.filter(
            series_master=master, deleted=False, start__lt=end, end__gt=start
        ).select_related("calendar__owner", "organizer", "series_master")
    )
    items = rows + expanded([master], start, end)
    items.sort(key=lambda e: (e.start, e.end, e.graph_id))
    return items


def occurrence_find(master_query: QuerySet[Event], event_id: str) -> Event | None:
    """The occurrence named by ``event_id`` (one without its own row), or None.

    ``master_query`` narrows where its master may be (a calendar, a mailbox)."""
    parsed = occurrence_id_parse(event_id)
    if parsed is None:
        return None
    master_id, original_start = parsed
    master = (
        master_query.filter(graph_id=master_id, deleted=False, recurrence__isnull=False)
        .select_related("calendar__owner", "organizer")
        .first()
    )
    if master is None:
        return None
    if Event.objects.filter(series_master=master, original_start=original_start).exists():
        return None  # changed (then found by its id) or removed
    window_end = original_start.replace(microsecond=1)
    for occurrence in master_occurrences(master, start=original_start, end=window_end):
        if occurrence.original_start == original_start:
            return occurrence_make(master, occurrence)
    return None


def sort_events(items: list[Event], order: list[str]) -> list[Event]:
    """``items`` sorted by model field names as ``$orderby`` gives them (``-`` descending)."""
    for name in reversed(order):
        field = name.lstrip("-")
        items = sorted(items, key=lambda e, f=field: getattr(e, f), reverse=name.startswith("-"))
    return items
