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
from graph_sandbox.graph.events import access_for, changes_between, events_in_window, overlaps
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
from graph_sandbox.models import CalendarAccess
from graph_sandbox.timefmt import BadDateTime, parse_instant

DELTA_PAGE_SIZE = 10
DELTA_SALT = "graph_sandbox.delta"


@graph_view(("GET",))
def calendar_view(
    request: HttpRequest, caller: Caller, calendar_id: str | None = None
) -> HttpResponse:
    caller.require(READ_CALENDARS)
    access = access_for(mailbox=caller.mailbox, calendar_id=calendar_id)
    start, end = _window(request)
    if "$filter" in request.GET:
        raise GraphError(400, "ErrorInvalidUrlQuery", "The Graph sandbox does not support $filter.")
    top, skip = top_and_skip(request)
    zone_name, applied = output_time_zone(request)
    fields = select_fields(request, EVENT_TYPE)
    rows = events_in_window(calendar=access.calendar, start=start, end=end)
    if order := ordering(request, EVENT_TYPE, EVENT_ORDERING):
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
            event_json(e, zone_name=zone_name, viewer=caller.mailbox)
            if overlaps(e, cursor["start"], cursor["end"])
            else removed_json(e)
            for e in items
        ],
    }
    base = request.build_absolute_uri(request.path)
    if more:
        token = _token({**cursor, "position": items[-1].seq})
        data["@odata.nextLink"] = base + "?" + urlencode({"$skiptoken": token}, safe="$:")
    else:
        round_end = cursor["upto"]
        token = _token({**cursor, "after": round_end, "upto": None, "position": round_end})
        data["@odata.deltaLink"] = base + "?" + urlencode({"$deltatoken": token}, safe="$:")
    return graph_json(data, preference_applied=applied)


def _delta_items(access: CalendarAccess, cursor: dict, page_size: int) -> tuple[list, bool]:
    """One page of a round, in change order, after the last change already sent.

    Paging by change number (not by offset) means an event changed while a client
    is paging moves to the next round instead of shifting the pages under it.
    """
    if cursor["after"] == 0:
        # The first round lists what is in the window now; nothing is "removed" yet.
        rows = events_in_window(calendar=access.calendar, start=cursor["start"], end=cursor["end"])
        rows = rows.filter(seq__lte=cursor["upto"])
    else:
        rows = changes_between(calendar=access.calendar, after=cursor["after"], upto=cursor["upto"])
    page = list(rows.filter(seq__gt=cursor["position"]).order_by("seq")[: page_size + 1])
    return page[:page_size], len(page) > page_size


def _cursor(request: HttpRequest, access: CalendarAccess) -> dict:
    """Where this delta page starts: a fresh round, a page of a round, or a later round."""
    generation = store.state().sync_generation
    token = request.GET.get("$skiptoken") or request.GET.get("$deltatoken")
    if token is None:
        start, end = _window(request)
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
    return GraphError(
        410,
        "SyncStateNotFound",
        "The sync state generation is not found. Please do a full sync by removing the "
        "delta token from the request.",
    )


def _window(request: HttpRequest) -> tuple[datetime, datetime]:
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
