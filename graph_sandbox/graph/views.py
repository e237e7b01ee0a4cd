"""``/me``, ``/me/calendars`` and events by id."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from graph_sandbox.graph.auth import READ_CALENDARS, READ_PROFILE, WRITE_CALENDARS, Caller
from graph_sandbox.graph.calendar_view import window
from graph_sandbox.graph.errors import GraphError
from graph_sandbox.graph.events import (
    access_for,
    event_create,
    event_delete,
    event_for,
    event_update,
)
from graph_sandbox.graph.odata import (
    apply_select,
    context_url,
    graph_json,
    graph_view,
    json_body,
    next_link,
    no_content,
    ordering,
    output_time_zone,
    select_fields,
    top_and_skip,
)
from graph_sandbox.graph.serialize import (
    CALENDAR_TYPE,
    EVENT_ORDERING,
    EVENT_TYPE,
    calendar_json,
    event_json,
    user_json,
)
from graph_sandbox.graph.series import instances as series_instances
from graph_sandbox.graph.series import sort_events
from graph_sandbox.models import CalendarAccess, Event


@graph_view(("GET",))
def me(request: HttpRequest, caller: Caller) -> HttpResponse:
    caller.require(READ_PROFILE)
    data = {"@odata.context": context_url(request, "users/$entity")}
    data.update(apply_select(user_json(caller.mailbox), select_fields(request)))
    return graph_json(data)


@graph_view(("GET",))
def calendars(request: HttpRequest, caller: Caller) -> HttpResponse:
    """``GET /me/calendars``: every calendar in the user's list, 10 a page by default."""
    caller.require(READ_CALENDARS)
    top, skip = top_and_skip(request)
    fields = select_fields(request, CALENDAR_TYPE)
    rows = CalendarAccess.objects.filter(mailbox=caller.mailbox).select_related("calendar__owner")
    page = list(rows[skip : skip + top + 1])
    data = {
        "@odata.context": context_url(request, f"users('{caller.mailbox.object_id}')/calendars"),
        "value": [apply_select(calendar_json(a), fields) for a in page[:top]],
    }
    if len(page) > top:
        data["@odata.nextLink"] = next_link(request, **{"$skip": skip + top, "$top": top})
    return graph_json(data)


@graph_view(("GET",))
def calendar(request: HttpRequest, caller: Caller, calendar_id: str | None = None) -> HttpResponse:
    """``GET /me/calendars/{id}`` and ``GET /me/calendar`` (the default calendar)."""
    caller.require(READ_CALENDARS)
    access = access_for(mailbox=caller.mailbox, calendar_id=calendar_id)
    data = {
        "@odata.context": context_url(
            request, f"users('{caller.mailbox.object_id}')/calendars/$entity"
        )
    }
    data.update(apply_select(calendar_json(access), select_fields(request, CALENDAR_TYPE)))
    return graph_json(data)


@graph_view(("GET", "POST"))
def events(request: HttpRequest, caller: Caller, calendar_id: str | None = None) -> HttpResponse:
    """``/me/calendars/{id}/events``, ``/me/calendar/events`` and ``/me/events``.

    GET lists the calendar's events (10 a page by default); POST creates one.
    Without a calendar id, the user's default calendar is meant.
    """
    access = access_for(mailbox=caller.mailbox, calendar_id=calendar_id)
    if request.method == "GET":
        caller.require(READ_CALENDARS)
        return _event_list(request, caller, access)
    caller.require(WRITE_CALENDARS)
    fields = select_fields(request, EVENT_TYPE)  # a bad $select is refused before the write
    created, _ = event_create(access=access, author=caller.mailbox, body=json_body(request))
    return _event_answer(request, caller, created, fields=fields, status=201)


def _event_list(request: HttpRequest, caller: Caller, access: CalendarAccess) -> HttpResponse:
    if "$filter" in request.GET:
        raise GraphError(400, "ErrorInvalidUrlQuery", "The Graph sandbox does not support $filter.")
    top, skip = top_and_skip(request)
    fields = select_fields(request, EVENT_TYPE)
    order = ordering(request, EVENT_TYPE, EVENT_ORDERING) or ["start"]
    zone_name, applied = output_time_zone(request)
    # Single instances and series masters; a series' occurrences and exceptions are read
    # through calendarView or /instances.
    rows = Event.objects.filter(
        calendar=access.calendar, deleted=False, series_master__isnull=True
    ).select_related("calendar__owner", "organizer")
    page = list(rows.order_by(*order, "id")[skip : skip + top + 1])
    data = {
        "@odata.context": context_url(request, f"users('{caller.mailbox.object_id}')/events"),
        "value": [
            apply_select(event_json(e, zone_name=zone_name, viewer=caller.mailbox), fields)
            for e in page[:top]
        ],
    }
    if len(page) > top:
        data["@odata.nextLink"] = next_link(request, **{"$top": top, "$skip": skip + top})
    return graph_json(data, preference_applied=applied)


@graph_view(("GET", "PATCH", "DELETE"))
def event(
    request: HttpRequest, caller: Caller, event_id: str, calendar_id: str | None = None
) -> HttpResponse:
    """``GET``/``PATCH``/``DELETE`` ``/me/events/{id}`` (and under ``/me/calendars/{id}``)."""
    caller.require(READ_CALENDARS if request.method == "GET" else WRITE_CALENDARS)
    access, found = event_for(mailbox=caller.mailbox, event_id=event_id, calendar_id=calendar_id)
    if request.method == "DELETE":
        event_delete(access=access, event=found)
        return no_content()
    fields = select_fields(request, EVENT_TYPE)  # a bad $select is refused before the write
    if request.method == "PATCH":
        found = event_update(access=access, event=found, body=json_body(request))
    return _event_answer(request, caller, found, fields=fields, status=200)


@graph_view(("GET",))
def instances(
    request: HttpRequest, caller: Caller, event_id: str, calendar_id: str | None = None
) -> HttpResponse:
    """``GET /me/events/{id}/instances?startDateTime&endDateTime``: a series master's
    occurrences and exceptions in the window (an occurrence or single event has none)."""
    caller.require(READ_CALENDARS)
    _, found = event_for(mailbox=caller.mailbox, event_id=event_id, calendar_id=calendar_id)
    start, end = window(request)
    top, skip = top_and_skip(request)
    fields = select_fields(request, EVENT_TYPE)
    zone_name, applied = output_time_zone(request)
    items = series_instances(found, start, end) if found.recurrence else []
    if order := ordering(request, EVENT_TYPE, EVENT_ORDERING):
        items = sort_events(items, order)
    page = items[skip : skip + top + 1]
    data = {
        "@odata.context": context_url(
            request, f"users('{caller.mailbox.object_id}')/events('{found.graph_id}')/instances"
        ),
        "value": [
            apply_select(event_json(e, zone_name=zone_name, viewer=caller.mailbox), fields)
            for e in page[:top]
        ],
    }
    if len(page) > top:
        data["@odata.nextLink"] = next_link(request, **{"$top": top, "$skip": skip + top})
    return graph_json(data, preference_applied=applied)


def _event_answer(
    request: HttpRequest, caller: Caller, event, *, fields: set[str] | None, status: int
) -> HttpResponse:
    zone_name, applied = output_time_zone(request)
    data = {
        "@odata.context": context_url(
            request, f"users('{caller.mailbox.object_id}')/events/$entity"
        )
    }
    data.update(apply_select(event_json(event, zone_name=zone_name, viewer=caller.mailbox), fields))
    return graph_json(data, status=status, preference_applied=applied)


@graph_view(("GET", "POST", "PATCH", "DELETE", "PUT"))
def unknown_segment(request: HttpRequest, caller: Caller, rest: str) -> HttpResponse:
    """What Graph answers for a path it has no resource for."""
    segment = rest.rstrip("/").split("/")[-1]
    raise GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")
