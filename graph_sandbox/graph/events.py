"""Events: reading a request body the way Graph does, and the writes behind the endpoints.

A create carrying a ``transactionId`` already used in the mailbox never makes a
second event: the same request again answers with the event it made the first
time (201, as Exchange does for a retried create), while a *different* request
reusing the id is refused with ``400 ErrorDuplicateTransactionId``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from datetime import datetime

from django.db.models import QuerySet

from graph_sandbox import store
from graph_sandbox.clock import sandbox_now
from graph_sandbox.graph.errors import GraphError, access_denied, not_found
from graph_sandbox.graph.meeting_body import blob_append, holds_meeting, meeting_disable
from graph_sandbox.graph.meetings import (
    meeting_cancel,
    meeting_requests_send,
    occurrence_cancel_for_attendees,
)
from graph_sandbox.graph.serialize import calendar_providers
from graph_sandbox.graph.series import HISTORY_KEPT, exceptions_drop, occurrence_find, timing_of
from graph_sandbox.ids import graph_id
from graph_sandbox.models import Calendar, CalendarAccess, Event, Mailbox
from graph_sandbox.pagesurl import PAGES_PREFIX, pages_base_url
from graph_sandbox.recurrence import first_occurrence, invalid, last_end, recurrence_read
from graph_sandbox.subscriptions.outbox import change_record
from graph_sandbox.subscriptions.services import subscriptions_of_calendar_remove
from graph_sandbox.timefmt import BadDateTime, BadTimeZone, parse_date_time_time_zone, zone
from ops.compiled_queries import query_objects, reads

INT32_MAX = 2**31 - 1
SHOW_AS = ("free", "tentative", "busy", "oof", "workingElsewhere", "unknown")
ATTENDEE_TYPES = ("required", "optional", "resource")
# Properties of microsoft.graph.event a client may send; read-only ones are ignored.
READ_ONLY = frozenset(
    {
        "id",
        "createdDateTime",
        "lastModifiedDateTime",
        "changeKey",
        "originalStartTimeZone",
        "originalEndTimeZone",
        "iCalUId",
        "uid",
        "hasAttachments",
        "bodyPreview",
        "isCancelled",
        "isOrganizer",
        "seriesMasterId",
        "type",
        "webLink",
        "onlineMeetingUrl",
        "onlineMeeting",
        "organizer",
        "responseStatus",
        "isDraft",
        "locations",
        "responseRequested",
        "allowNewTimeProposals",
        "hideAttendees",
    }
)
UNSUPPORTED = frozenset(
    {"singleValueExtendedProperties", "multiValueExtendedProperties", "attachments"}
)
WRITABLE = frozenset(
    {
        "subject",
        "body",
        "start",
        "end",
        "location",
        "attendees",
        "isReminderOn",
        "reminderMinutesBeforeStart",
        "isOnlineMeeting",
        "onlineMeetingProvider",
        "showAs",
        "isAllDay",
        "sensitivity",
        "importance",
        "categories",
        "transactionId",
        "recurrence",
    }
)


# --- selectors ---------------------------------------------------------------------------


# The reads every event call makes are compiled once per process (``ops.compiled_queries``):
# building their SQL cost more than running it.


def access_for(*, mailbox: Mailbox, calendar_id: str | None) -> CalendarAccess:
    """A calendar in the mailbox's list by Graph id (None: the default calendar); 404 else."""
    if calendar_id is None:
        found = query_objects(_default_access, mailbox.pk)
    else:
        found = query_objects(_access_by_id, mailbox.pk, calendar_id)
    if not found:
        raise not_found()
    return found[0]


def event_for(
    *, mailbox: Mailbox, event_id: str, calendar_id: str | None = None
) -> tuple[CalendarAccess, Event]:
    """An event by id: in one calendar of the list, or (``/me/events``) in an owned calendar.

    An occurrence of a series that has no row of its own comes back unsaved
    (``graph.series``)."""
    if calendar_id is not None:
        access = access_for(mailbox=mailbox, calendar_id=calendar_id)
        found = query_objects(_event_in_calendar, event_id, access.calendar_id)
        event = found[0] if found else None
        if event is None:
            masters = Event.objects.filter(calendar_id=access.calendar_id)
            event = occurrence_find(masters, event_id)
    else:
        found = query_objects(_event_of_owner, event_id, mailbox.pk)
        event = found[0] if found else None
        if event is None:
            event = occurrence_find(Event.objects.filter(calendar__owner_id=mailbox.pk), event_id)
        accesses = query_objects(_access_to, mailbox.pk, event.calendar_id) if event else []
        access = accesses[0] if accesses else None
    if event is None or access is None:
        raise not_found()
    return access, event


def _accesses(mailbox_id: int) -> QuerySet[CalendarAccess]:
    return CalendarAccess.objects.select_related("calendar__owner").filter(mailbox_id=mailbox_id)


@reads(CalendarAccess)
def _default_access(mailbox_id: int) -> QuerySet[CalendarAccess]:
    rows = _accesses(mailbox_id)
    return rows.filter(calendar__owner_id=mailbox_id, calendar__is_default=True)[:1]


@reads(CalendarAccess)
def _access_by_id(mailbox_id: int, calendar_id: str) -> QuerySet[CalendarAccess]:
    return _accesses(mailbox_id).filter(graph_id=calendar_id)[:1]


@reads(CalendarAccess)
def _access_to(mailbox_id: int, calendar_id: int) -> QuerySet[CalendarAccess]:
    return _accesses(mailbox_id).filter(calendar_id=calendar_id)[:1]


def _live_events(event_id: str) -> QuerySet[Event]:
    return Event.objects.select_related("calendar__owner", "organizer").filter(
        graph_id=event_id, deleted=False
    )


@reads(Event)
def _event_in_calendar(event_id: str, calendar_id: int) -> QuerySet[Event]:
    return _live_events(event_id).filter(calendar_id=calendar_id)[:1]


@reads(Event)
def _event_of_owner(event_id: str, mailbox_id: int) -> QuerySet[Event]:
    return _live_events(event_id).filter(calendar__owner_id=mailbox_id)[:1]


@reads(Event)
def _event_by_transaction(transaction_key: str) -> QuerySet[Event]:
    return Event.objects.filter(transaction_key=transaction_key)[:1]


def events_in_window(*, calendar: Calendar, start: datetime, end: datetime) -> QuerySet[Event]:
    """Live events overlapping [start, end), earliest first."""
    return (
        Event.objects.filter(calendar=calendar, deleted=False, start__lt=end, end__gt=start)
        .select_related("calendar__owner", "organizer")
        .order_by("start", "id")
    )


def changes_between(*, calendar: Calendar, after: int, upto: int) -> QuerySet[Event]:
    """Events (and tombstones) whose last change is in (after, upto], oldest change first."""
    return (
        Event.objects.filter(calendar=calendar, seq__gt=after, seq__lte=upto)
        .select_related("calendar__owner", "organizer")
        .order_by("seq", "id")
    )


def overlaps(event: Event, start: datetime, end: datetime) -> bool:
    return not event.deleted and event.start < end and event.end > start


# --- services ---------------------------------------------------------------------------


def event_create(*, access: CalendarAccess, author: Mailbox, body: dict) -> tuple[Event, bool]:
    """Create an event from a Graph request body. Returns (event, created)."""
    if not access.can_edit:
        raise access_denied()
    fields = _fields_from_body(body, creating=True)
    raw_recurrence = fields.pop("recurrence", None)
    transaction_id = fields.pop("transaction_id", "")
    fingerprint = _fingerprint(body)
    owner = access.calendar.owner
    now = sandbox_now()
    # Committed with the call's log line (one commit for both, before the answer leaves).
    with store.writing(until_logged=True):
        if transaction_id:
            found = query_objects(_event_by_transaction, f"{owner.object_id}:{transaction_id}")
            if found:
                return _repeated_create(found[0], access, fingerprint), False
        event = Event(
            graph_id=graph_id(),
            calendar=access.calendar,
            organizer=owner,
            transaction_id=transaction_id,
            transaction_key=f"{owner.object_id}:{transaction_id}" if transaction_id else None,
            request_fingerprint=fingerprint,
            ical_uid=_ical_uid(),
            created_at=now,
            **fields,
        )
        if raw_recurrence is not None:
            _series_set(event, raw_recurrence)
        _stamp(event, now)
        _online_meeting_set(event)
        blob_append(event)
        event.save()
        change_record(event=event, change_type="created")
        meeting_requests_send(event=event, stamp=_stamp, new=True)
    return event, True


def event_update(*, access: CalendarAccess, event: Event, body: dict) -> Event:
    """Apply a PATCH body to an event (partial update).

    An occurrence becomes an exception (a row of its own, under the occurrence's id).
    A series master whose times or pattern change drops its exceptions, as Outlook does.
    """
    if not access.can_edit:
        raise access_denied()
    if "transactionId" in body and body["transactionId"] != (event.transaction_id or None):
        raise GraphError(
            400, "ErrorInvalidRequest", "The transactionId of an event can't be changed."
        )
    fields = _fields_from_body(body, creating=False)
    fields.pop("transaction_id", None)
    in_series = event.pk is None or event.series_master_id is not None
    if "recurrence" in fields and (in_series or fields["recurrence"] is None):
        raise invalid(
            "The recurrence of an occurrence can't be set."
            if in_series
            else "The Graph sandbox does not turn a series back into a single event."
        )
    raw_recurrence = fields.pop("recurrence", None)
    start, end = fields.get("start", event.start), fields.get("end", event.end)
    if end < start:
        raise _end_before_start()
    with store.writing():
        if event.pk is None:
            return _exception_make(event, fields)
        timing = timing_of(event)
        meeting_url = event.join_url
        for name, value in fields.items():
            setattr(event, name, value)
        retimed = timing_of(event) != timing or raw_recurrence is not None
        if retimed and (event.recurrence or raw_recurrence is not None):
            if raw_recurrence is None:
                # Moving a series moves its range's start with it.
                raw_recurrence = _range_moved(event.recurrence, event)
            _series_set(event, raw_recurrence)
            if timing_of(event) != timing:
                event.timing_history = ([*event.timing_history, timing])[-HISTORY_KEPT:]
                exceptions_drop(event, stamp=_stamp)
        _meeting_keep_or_set(event, fields, meeting_url)
        _stamp(event, sandbox_now())
        if event.timing_history and event.timing_history[-1] is timing:
            timing["seq"] = event.seq
        event.save()
        change_record(event=event, change_type="updated")
        if event.series_master_id is None:
            meeting_requests_send(event=event, stamp=_stamp)
    return event


def event_delete(*, access: CalendarAccess, event: Event) -> None:
    """Delete an event; it stays as a tombstone so delta queries can report it.

    Deleting an occurrence removes it from its series (a removed-occurrence row; the
    attendees' copies of the occurrence are cancelled); deleting a series master
    removes the series with its exceptions."""
    if not access.can_edit:
        raise access_denied()
    with store.writing():
        if event.pk is None:
            _occurrence_remove(event)
            return
        event.deleted = True
        _stamp(event, sandbox_now())
        event.save()
        change_record(event=event, change_type="deleted")
        if event.recurrence:
            exceptions_drop(event, stamp=_stamp, detach=False)
        meeting_cancel(event=event, stamp=_stamp)


def event_insert(
    *,
    calendar: Calendar,
    subject: str,
    start: datetime,
    end: datetime,
    show_as: str = "busy",
    time_zone: str = "UTC",
    recurrence: dict | None = None,
    **extra,
) -> Event:
    """Put an event straight into a calendar (seeding, the people page, tests).

    ``recurrence``: Graph's ``patternedRecurrence`` (its range's ``startDate`` the start's
    date in ``time_zone``) makes it a series master. ``extra`` may set any other
    ``Event`` field (``location``, ``attendees``, ``is_reminder_on``,
    ``reminder_minutes``, ``body_content`` …).
    """
    if end < start:
        raise ValueError("an event cannot end before it starts")
    if show_as not in SHOW_AS:
        raise ValueError(f"showAs must be one of {', '.join(SHOW_AS)}")
    now = sandbox_now()
    with store.writing():
        event = Event(
            graph_id=graph_id(),
            calendar=calendar,
            organizer=calendar.owner,
            subject=subject,
            start=start,
            end=end,
            start_time_zone=time_zone,
            end_time_zone=time_zone,
            show_as=show_as,
            ical_uid=_ical_uid(),
            created_at=now,
            **extra,
        )
        if recurrence is not None:
            _series_set(event, recurrence)
        _stamp(event, now)
        event.save()
        change_record(event=event, change_type="created")
    return event


def event_remove(*, event: Event) -> None:
    """Delete an event whatever the calendar's permissions (the owner deleting it)."""
    with store.writing():
        if event.pk is None:
            _occurrence_remove(event)
            return
        event.deleted = True
        _stamp(event, sandbox_now())
        event.save()
        change_record(event=event, change_type="deleted")
        if event.recurrence:
            exceptions_drop(event, stamp=_stamp, detach=False)


def event_retime(*, event: Event, start: datetime, end: datetime) -> None:
    """Move an event to another time whatever the calendar's permissions (the owner moving it)."""
    if end < start:
        raise ValueError("an event cannot end before it starts")
    with store.writing():
        timing = timing_of(event)
        event.start, event.end = start, end
        if event.recurrence:  # moving a series: its range starts on the new date
            _series_set(event, _range_moved(event.recurrence, event))
            if timing_of(event) != timing:
                event.timing_history = [*event.timing_history, timing][-HISTORY_KEPT:]
                exceptions_drop(event, stamp=_stamp)
        _stamp(event, sandbox_now())
        if event.timing_history and event.timing_history[-1] is timing:
            timing["seq"] = event.seq
        event.save()
        change_record(event=event, change_type="updated")


def calendar_remove(*, calendar: Calendar) -> None:
    """Delete a calendar with every event in it (the owner deleting it); never the default.

    Subscriptions to the mailbox's events hear of each event as deleted; a
    subscription to this calendar alone is removed (``subscriptionRemoved``).
    """
    if calendar.is_default:
        raise ValueError("a mailbox's default calendar cannot be deleted")
    with store.writing():
        for event in Event.objects.filter(calendar=calendar, deleted=False).select_related(
            "calendar"
        ):
            change_record(event=event, change_type="deleted")
        subscriptions_of_calendar_remove(calendar=calendar)
        calendar.delete()


# --- series -------------------------------------------------------------------------------


def _series_set(event: Event, raw: object) -> None:
    """Make ``event`` a series master with a request's ``recurrence``; its start and end
    become its first occurrence's (Graph's answer shows them so)."""
    recurrence = recurrence_read(raw, start=event.start, start_time_zone=event.start_time_zone)
    duration = event.end - event.start
    zone_name = event.start_time_zone
    first = first_occurrence(
        recurrence, first_start=event.start, duration=duration, time_zone=zone_name
    )
    if first is None:
        raise invalid("The recurrence pattern has no occurrence in its range.")
    event.recurrence = recurrence
    event.start, event.end = first.start, first.end
    event.series_end = last_end(
        recurrence, first_start=first.start, duration=duration, time_zone=zone_name
    )


def _range_moved(recurrence: dict, event: Event) -> dict:
    local = event.start.astimezone(zone(event.start_time_zone)).date().isoformat()
    return {**recurrence, "range": {**recurrence["range"], "startDate": local}}


def _series_row(occurrence: Event) -> Event:
    """A row for an occurrence of its own: reusing one left under its id by an earlier
    pattern of the series, else new."""
    master = occurrence.occurrence_of
    row = Event.objects.filter(graph_id=occurrence.graph_id).first() or Event(
        graph_id=occurrence.graph_id
    )
    keep = {"pk": row.pk, "id": row.pk}
    for field in Event._meta.concrete_fields:
        if field.attname not in keep:
            setattr(row, field.attname, getattr(occurrence, field.attname))
    row.graph_id = occurrence.graph_id
    row.series_master = master
    row.original_start = occurrence.original_start
    row.recurrence, row.series_end, row.timing_history = None, None, []
    row.transaction_id, row.transaction_key, row.request_fingerprint = "", None, ""
    row.ical_uid = _ical_uid()
    return row


def _exception_make(occurrence: Event, fields: dict) -> Event:
    row = _series_row(occurrence)
    meeting_url = row.join_url
    for name, value in fields.items():
        setattr(row, name, value)
    row.deleted = False
    _meeting_keep_or_set(row, fields, meeting_url)
    _stamp(row, sandbox_now())
    row.save()
    change_record(event=row, change_type="updated")
    return row


def _occurrence_remove(occurrence: Event) -> None:
    row = _series_row(occurrence)
    row.deleted = True
    _stamp(row, sandbox_now())
    row.save()
    change_record(event=row, change_type="deleted")
    occurrence_cancel_for_attendees(
        master=occurrence.occurrence_of, original_start=occurrence.original_start, stamp=_stamp
    )


def _repeated_create(existing: Event, access: CalendarAccess, fingerprint: str) -> Event:
    same = (
        not existing.deleted
        and existing.calendar_id == access.calendar_id
        and existing.request_fingerprint == fingerprint
    )
    if not same:
        raise GraphError(
            400,
            "ErrorDuplicateTransactionId",
            "Your request can't be completed. The TransactionId specified in the request has "
            "already been used to create a different event.",
        )
    return existing


def _stamp(event: Event, now: datetime) -> None:
    event.modified_at = now
    event.change_key = secrets.token_urlsafe(16)
    event.seq = store.next_change_seq()


# --- reading a request body ---------------------------------------------------------------


def _fields_from_body(body: dict, *, creating: bool) -> dict:
    """Model field values from a Graph event body; Graph's 400s for what it would refuse."""
    for name, value in body.items():
        if name.startswith("@") or name in READ_ONLY:
            continue
        if name in UNSUPPORTED:
            if value in (None, []):
                continue
            raise GraphError(
                400, "ErrorInvalidRequest", f"The Graph sandbox does not support '{name}'."
            )
        if name not in WRITABLE:
            raise GraphError(
                400,
                "RequestBodyRead",
                f"The property '{name}' does not exist on type 'microsoft.graph.event'. Make "
                "sure to only use property names that are defined by the type or mark the type "
                "as open type.",
            )
    fields: dict = {}
    if creating and ("start" not in body or "end" not in body):
        raise GraphError(400, "ErrorInvalidRequest", "An event needs both a start and an end.")
    for key in ("start", "end"):
        if key in body:
            fields[key], fields[f"{key}_time_zone"] = _date_time(body[key])
    if "start" in fields and "end" in fields and fields["end"] < fields["start"]:
        raise _end_before_start()
    _simple_fields(body, fields)
    if "body" in body:
        fields["body_content_type"], fields["body_content"] = _body(body["body"])
    if "location" in body:
        fields["location"] = _location(body["location"])
    if "attendees" in body:
        fields["attendees"] = _attendees(body["attendees"])
    if "recurrence" in body:
        fields["recurrence"] = body["recurrence"]  # read against the start (_series_set)
    return fields


def _simple_fields(body: dict, fields: dict) -> None:
    typed = {
        "subject": ("subject", str, "Edm.String"),
        "isReminderOn": ("is_reminder_on", bool, "Edm.Boolean"),
        "reminderMinutesBeforeStart": ("reminder_minutes", int, "Edm.Int32"),
        "isOnlineMeeting": ("is_online_meeting", bool, "Edm.Boolean"),
        "isAllDay": ("is_all_day", bool, "Edm.Boolean"),
        "transactionId": ("transaction_id", str, "Edm.String"),
        "categories": ("categories", list, "Collection(Edm.String)"),
    }
    for name, (field_name, kind, edm) in typed.items():
        if name not in body or body[name] is None:
            continue
        value = body[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise _cannot_convert(value, edm)
        fields[field_name] = value
    for name, field_name in (("subject", "subject"), ("transactionId", "transaction_id")):
        if len(fields.get(field_name, "")) > 255:
            raise GraphError(
                400, "ErrorInvalidRequest", f"The {name} is longer than 255 characters."
            )
    if not 0 <= fields.get("reminder_minutes", 0) <= INT32_MAX:
        raise _cannot_convert(body["reminderMinutesBeforeStart"], "Edm.Int32")
    enums = {
        "showAs": ("show_as", SHOW_AS, "microsoft.graph.freeBusyStatus"),
        "sensitivity": (
            "sensitivity",
            ("normal", "personal", "private", "confidential"),
            "microsoft.graph.sensitivity",
        ),
        "importance": ("importance", ("low", "normal", "high"), "microsoft.graph.importance"),
        "onlineMeetingProvider": (
            "online_meeting_provider",
            ("unknown", "teamsForBusiness", "skypeForBusiness", "skypeForConsumer"),
            "microsoft.graph.onlineMeetingProviderType",
        ),
    }
    for name, (field_name, allowed, edm) in enums.items():
        if name in body and body[name] is not None:
            if body[name] not in allowed:
                raise _cannot_convert(body[name], edm)
            fields[field_name] = body[name]


def _date_time(value: object) -> tuple[datetime, str]:
    try:
        return parse_date_time_time_zone(value)
    except BadTimeZone as exc:
        raise GraphError(
            400,
            "TimeZoneNotSupportedException",
            "A valid TimeZone value must be specified. The following TimeZone value is not "
            f"supported: '{exc.name}'.",
        )
    except BadDateTime:
        raise GraphError(400, "UnableToDeserializePostBody", "were unable to deserialize ")


def _body(value: object) -> tuple[str, str]:
    if not isinstance(value, dict):
        raise _cannot_convert(value, "microsoft.graph.itemBody")
    content_type = str(value.get("contentType") or "text").lower()
    if content_type not in ("text", "html"):
        raise _cannot_convert(value.get("contentType"), "microsoft.graph.bodyType")
    return content_type, str(value.get("content") or "")


def _location(value: object) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _cannot_convert(value, "microsoft.graph.location")
    return {k: v for k, v in value.items() if not k.startswith("@")}


def _attendees(value: object) -> list[dict]:
    if not isinstance(value, list):
        raise _cannot_convert(value, "Collection(microsoft.graph.attendee)")
    result = []
    for item in value:
        email = item.get("emailAddress") if isinstance(item, dict) else None
        if not isinstance(email, dict) or not isinstance(email.get("address"), str):
            raise GraphError(400, "ErrorInvalidRecipients", "At least one recipient isn't valid.")
        kind = item.get("type") or "required"
        if kind not in ATTENDEE_TYPES:
            raise _cannot_convert(kind, "microsoft.graph.attendeeType")
        result.append(
            {
                "type": kind,
                "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
                "emailAddress": {
                    "name": str(email.get("name") or email["address"]),
                    "address": email["address"],
                },
            }
        )
    return result


def _cannot_convert(value: object, edm: str) -> GraphError:
    return GraphError(
        400,
        "RequestBodyRead",
        f"Cannot convert the literal '{value}' to the expected type '{edm}'.",
    )


def _end_before_start() -> GraphError:
    return GraphError(
        400,
        "ErrorCalendarEndDateIsEarlierThanStartDate",
        "The end date occurs before the start date.",
    )


def _fingerprint(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _ical_uid() -> str:
    return "040000008200E00074C5B7101A82E008" + uuid.uuid4().hex.upper()


def _online_meeting_set(event: Event) -> None:
    """Make an event that asks for it an online meeting, with the provider it names (else
    its calendar's default), if its calendar allows that provider
    (``allowedOnlineMeetingProviders``); otherwise it stays a meeting without one: not
    online, no join URL (as for a personal account's calendar asked for teamsForBusiness).
    """
    if not event.is_online_meeting:
        return
    allowed = calendar_providers(event.calendar)
    asked = event.online_meeting_provider
    provider = asked if asked != "unknown" else (allowed[0] if allowed else "unknown")
    if provider in allowed:
        event.online_meeting_provider = provider
        event.join_url = _join_url()
    else:
        event.is_online_meeting = False
        event.online_meeting_provider = "unknown"


def _meeting_keep_or_set(event: Event, fields: dict, meeting_url: str) -> None:
    """After a PATCH: a new body without the meeting's join information turns the
    meeting off (``graph.meeting_body``); an event without a meeting that now asks for
    one gets one, its details appended to its body."""
    dropped = "body_content" in fields and not holds_meeting(event.body_content, meeting_url)
    if meeting_url and dropped:
        meeting_disable(event)
        return
    if not event.join_url:
        _online_meeting_set(event)
        blob_append(event)


def _join_url() -> str:
    return f"{pages_base_url()}{PAGES_PREFIX}/meet/{secrets.token_urlsafe(12)}/"
