"""``calendarView`` and its delta form.

``calendarView`` pages with ``$top`` (default 10, at most 1000) and ``$skip`` in
``@odata.nextLink``. The delta form pages with ``Prefer: odata.maxpagesize`` and
an opaque ``$skiptoken``; its last page carries ``@odata.deltaLink`` with a
``$deltatoken`` that, called later, returns what changed since: changed events
in full, and events deleted or moved out of the window as ``@removed``.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from django.core import signing
from django.http import HttpRequest, HttpResponse

from graph_sandbox import store
from graph_sandbox.graph.auth import READ_CALENDARS, Caller
from graph_sandbox.graph.errors import GraphError
from graph_sandbox.graph.events import access_for, changes_between, overlaps
from graph_sandbox.graph.odata import (
    apply_select,
    context_url,
    graph_json,
    graph_view,
    max_page_size,
    next_link,
    ordering,
    output_time_zone,
    query_value,
    refuse_options,
    select_fields,
    top_and_skip,
)
from graph_sandbox.graph.serialize import EVENT_ORDERING, EVENT_TYPE, event_json, removed_json
from graph_sandbox.graph.series import (
    has_series,
    master_occurrences,
    occurrence_make,
    sort_events,
    view_items,
    view_rows,
)
from graph_sandbox.models import CalendarAccess, Event
from graph_sandbox.recurrence import occurrence_id
from graph_sandbox.timefmt import BadDateTime, parse_instant

DELTA_PAGE_SIZE = 10
DELTA_SALT = "graph_sandbox.delta"


@graph_view(("GET",))
def calendar_view(
    request: HttpRequest, caller: Caller, calendar_id: str | None = None
) -> HttpResponse:
    caller.require(READ_CALENDARS)
    access = access_for(mailbox=caller.mailbox, calendar_id=calendar_id)
    start, end = window(request)
    if "$filter" in request.GET:
        raise GraphError(400, "ErrorInvalidUrlQuery", "The Graph sandbox does not support $filter.")
    top, skip = top_and_skip(request)
    zone_name, applied = output_time_zone(request)
    fields = select_fields(request, EVENT_TYPE)
    order = ordering(request, EVENT_TYPE, EVENT_ORDERING)
    if has_series(access.calendar, start, end):
        # Series are expanded in memory: their occurrences have no rows to page in SQL.
        items = view_items(access.calendar, start, end)
        if order:
            items = sort_events(items, order)
        page = items[skip : skip + top + 1]
    else:
        rows = view_rows(access.calendar, start, end)
        if order:
            rows = rows.order_by(*order, "id")
        page = list(rows[skip : skip + top + 1])
    data = {
        "@odata.context": context_url(
            request,
            f"users('{caller.mailbox.object_id}')/calendars('{access.graph_id}')/calendarView",
        ),
        "value": [
            apply_select(event_json(e, zone_name=zone_name, viewer=caller.mailbox), fields)
            for e in page[:top]
        ],
    }
    if len(page) > top:
        data["@odata.nextLink"] = next_link(request, **{"$top": top, "$skip": skip + top})
    return graph_json(data, preference_applied=applied)


@graph_view(("GET",))
def calendar_view_delta(
    request: HttpRequest, caller: Caller, calendar_id: str | None = None
) -> HttpResponse:
    caller.require(READ_CALENDARS)
    access = access_for(mailbox=caller.mailbox, calendar_id=calendar_id)
    refuse_options(
        request, ("$select", "$filter", "$orderby", "$top", "$expand", "$search"), "CalendarView"
    )
    cursor = _cursor(request, access)
    page_size = max_page_size(request, DELTA_PAGE_SIZE)
    zone_name, applied = output_time_zone(request)
    items, more = _delta_items(access, cursor, page_size)
    data = {
        "@odata.context": context_url(request, "Collection(event)"),
        "value": [
            removed_json(e)
            if removed
            else event_json(e, zone_name=zone_name, viewer=caller.mailbox)
            for _, _, e, removed in items
        ],
    }
    base = request.build_absolute_uri(request.path)
    if more:
        token = _token({**cursor, "position": list(items[-1][:2])})
        data["@odata.nextLink"] = base + "?" + urlencode({"$skiptoken": token}, safe="$:")
    else:
        round_end = cursor["upto"]
        token = _token({**cursor, "after": round_end, "upto": None, "position": round_end})
        data["@odata.deltaLink"] = base + "?" + urlencode({"$deltatoken": token}, safe="$:")
    return graph_json(data, preference_applied=applied)


def _delta_items(access: CalendarAccess, cursor: dict, page_size: int) -> tuple[list, bool]:
    """One page of a round, in change order, after the last change already sent.

    Each item is (change number, key, event, removed). Paging by change number (not by
    offset) means an event changed while a client is paging moves to the next round
    instead of shifting the pages under it; a series' occurrences share their master's
    change number and follow each other by ``key`` (their id).
    """
    start, end = cursor["start"], cursor["end"]
    if cursor["after"] == 0:
        # The first round lists what is in the window now; nothing is "removed" yet.
        seen = view_items(access.calendar, start, end, upto=cursor["upto"])
        entries = [(e.seq, e.graph_id, e, False) for e in seen]
    else:
        entries = []
        rows = changes_between(calendar=access.calendar, after=cursor["after"], upto=cursor["upto"])
        for row in rows:
            if row.recurrence:
                entries.extend(_series_changes(row, start, end, after=cursor["after"]))
            else:
                entries.append((row.seq, row.graph_id, row, not overlaps(row, start, end)))
        # One entry per id: the latest change wins (an exception dropped with its series
        # is also among the series' old occurrences).
        latest: dict[str, tuple] = {}
        for entry in entries:
            if entry[2].graph_id not in latest or entry[:2] > latest[entry[2].graph_id][:2]:
                latest[entry[2].graph_id] = entry
        entries = list(latest.values())
    position = tuple(cursor["position"]) if isinstance(cursor["position"], list) else None
    if position is None:
        position = (cursor["position"], "")
    entries.sort(key=lambda item: item[:2])
    page = [item for item in entries if item[:2] > position][: page_size + 1]
    return page[:page_size], len(page) > page_size


def _series_changes(master: Event, start: datetime, end: datetime, *, after: int) -> list[tuple]:
    """A changed series master in a later round: its occurrences in the window as they
    are now (all removed if the series was deleted), and the ones its earlier times or
    pattern had there, changed since ``after``, as removed."""
    taken = set(Event.objects.filter(series_master=master).values_list("original_start", flat=True))
    now = [
        occurrence_make(master, o)
        for o in master_occurrences(master, start=start, end=end)
        if o.original_start not in taken
    ]
    entries = [(master.seq, e.graph_id, e, master.deleted) for e in now]
    current = {e.graph_id for e in now}
    for timing in master.timing_history:
        if timing.get("seq", 0) <= after:
            continue
        if not timing["recurrence"]:
            ids = [master.graph_id] if _timing_overlaps(timing, start, end) else []
        else:
            ids = [
                occurrence_id(master.graph_id, o.original_start)
                for o in master_occurrences(master, start=start, end=end, timing=timing)
            ]
        for gone in ids:
            if gone not in current:
                current.add(gone)
                entries.append((master.seq, gone, Event(graph_id=gone), True))
    return entries


def _timing_overlaps(timing: dict, start: datetime, end: datetime) -> bool:
    return (
        datetime.fromisoformat(timing["start"]) < end
        and datetime.fromisoformat(timing["end"]) > start
    )


def _cursor(request: HttpRequest, access: CalendarAccess) -> dict:
    """Where this delta page starts: a fresh round, a page of a round, or a later round."""
    generation = store.state().sync_generation
    token = request.GET.get("$skiptoken") or request.GET.get("$deltatoken")
    if token is None:
        start, end = window(request)
        return {
            "calendar": access.graph_id,
            "start": start,
            "end": end,
            "after": 0,
            "upto": store.state().change_seq,
            "position": 0,
            "generation": generation,
        }
    try:
        data = signing.loads(token, salt=DELTA_SALT)
    except signing.BadSignature:
        raise _resync()
    if data.get("calendar") != access.graph_id or data.get("generation") != generation:
        raise _resync()
    cursor = {
        **data,
        "start": parse_instant(data["start"]),
        "end": parse_instant(data["end"]),
    }
    if cursor["upto"] is None:  # a delta link: the new round covers changes made until now
        cursor["upto"] = store.state().change_seq
    return cursor


def _token(cursor: dict) -> str:
    data = {**cursor, "start": cursor["start"].isoformat(), "end": cursor["end"].isoformat()}
    return signing.dumps(data, salt=DELTA_SALT, compress=True)


def _resync() -> GraphError:
    """A delta link the sandbox no longer knows, answered as ``control.delta_links_expire``
    chose: 410 Gone (a reset) or 400 ``syncStateNotFound`` (an expired token)."""
    if store.state().sync_expired_status == 400:
        return GraphError(
            400,
            "syncStateNotFound",
            "The sync state generation was not found: the delta token has expired, so "
            "synchronize the data again from the start.",
        )
    return GraphError(
        410,
        "SyncStateNotFound",
        "The sync state generation is not found. Please do a full sync by removing the "
        "delta token from the request.",
    )


def window(request: HttpRequest) -> tuple[datetime, datetime]:
    """``startDateTime`` and ``endDateTime`` (in any case), read with their offsets."""
    start, end = query_value(request, "StartDateTime"), query_value(request, "EndDateTime")
    if not start or not end:
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            "This request requires a time window specified by the query string parameters "
            "StartDateTime and EndDateTime.",
        )
    return _instant(start, "StartDateTime"), _instant(end, "EndDateTime")


def _instant(value: str, parameter: str) -> datetime:
    try:
        return parse_instant(value)
    except BadDateTime:
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            f"The value '{value}' of parameter '{parameter}' is invalid.",
        )
