"""Graph's JSON for users, calendars and events (v1.0 property names)."""

from __future__ import annotations

import hashlib

from graph_sandbox.graph.odata import EntityType
from graph_sandbox.graph.series import event_type, series_master_graph_id
from graph_sandbox.models import CalendarAccess, Event, Mailbox, MailboxKind
from graph_sandbox.timefmt import BadTimeZone, format_date_time_time_zone, format_utc, zone

NEVER = "0001-01-01T00:00:00Z"

# What ``$select`` may name (v1.0 properties and relationships); anything else is a 400.
EVENT_TYPE = EntityType(
    "Microsoft.OutlookServices.Event",
    frozenset(
        {
            "allowNewTimeProposals",
            "attendees",
            "body",
            "bodyPreview",
            "categories",
            "changeKey",
            "createdDateTime",
            "end",
            "hasAttachments",
            "hideAttendees",
            "iCalUId",
            "id",
            "importance",
            "isAllDay",
            "isCancelled",
            "isDraft",
            "isOnlineMeeting",
            "isOrganizer",
            "isReminderOn",
            "lastModifiedDateTime",
            "location",
            "locations",
            "onlineMeeting",
            "onlineMeetingProvider",
            "onlineMeetingUrl",
            "organizer",
            "originalEndTimeZone",
            "originalStart",
            "originalStartTimeZone",
            "recurrence",
            "reminderMinutesBeforeStart",
            "responseRequested",
            "responseStatus",
            "sensitivity",
            "seriesMasterId",
            "showAs",
            "start",
            "subject",
            "transactionId",
            "type",
            "uid",
            "webLink",
            "attachments",
            "calendar",
            "extensions",
            "instances",
            "multiValueExtendedProperties",
            "singleValueExtendedProperties",
        }
    ),
)
# ``$orderby`` paths the sandbox sorts events by, and the fields behind them.
EVENT_ORDERING = {
    "start/datetime": "start",
    "end/datetime": "end",
    "subject": "subject",
    "createddatetime": "created_at",
    "lastmodifieddatetime": "modified_at",
}
CALENDAR_TYPE = EntityType(
    "Microsoft.OutlookServices.Calendar",
    frozenset(
        {
            "allowedOnlineMeetingProviders",
            "canEdit",
            "canShare",
            "canViewPrivateItems",
            "changeKey",
            "color",
            "defaultOnlineMeetingProvider",
            "hexColor",
            "id",
            "isDefaultCalendar",
            "isRemovable",
            "isTallyingResponses",
            "name",
            "owner",
            "calendarPermissions",
            "calendarView",
            "events",
            "multiValueExtendedProperties",
            "singleValueExtendedProperties",
        }
    ),
)


def user_json(mailbox: Mailbox) -> dict:
    return {
        "businessPhones": [],
        "displayName": mailbox.display_name,
        "givenName": mailbox.given_name or None,
        "jobTitle": mailbox.job_title or None,
        "mail": mailbox.address,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": "en-US",
        "surname": mailbox.surname or None,
        "userPrincipalName": mailbox.address,
        "id": str(mailbox.object_id),
    }


def calendar_providers(calendar) -> list[str]:
    """A calendar's ``allowedOnlineMeetingProviders``: its owner's (a room's: none)."""
    owner = calendar.owner
    return [] if owner.kind == MailboxKind.ROOM else list(owner.online_meeting_providers)


def calendar_json(access: CalendarAccess) -> dict:
    calendar = access.calendar
    owner = calendar.owner
    providers = calendar_providers(calendar)
    return {
        "id": access.graph_id,
        "name": access.name,
        "color": calendar.color,
        "hexColor": calendar.hex_color,
        "isDefaultCalendar": access.is_default,
        "changeKey": _calendar_change_key(access),
        "canShare": access.can_share,
        "canViewPrivateItems": access.can_view_private,
        "canEdit": access.can_edit,
        "isRemovable": access.is_removable,
        "isTallyingResponses": owner.pk == access.mailbox_id,
        "allowedOnlineMeetingProviders": providers,
        "defaultOnlineMeetingProvider": providers[0] if providers else "unknown",
        "owner": {
            "name": owner.display_name,
            "address": owner.calendar_owner_address or owner.address,
        },
    }


def event_json(event: Event, *, zone_name: str, viewer: Mailbox) -> dict:
    """The full event as Graph returns it, times shown in ``zone_name``."""
    organizer = event.organizer or event.calendar.owner
    data = {
        "@odata.etag": f'W/"{event.change_key}"',
        "id": event.graph_id,
        "createdDateTime": format_utc(event.created_at),
        "lastModifiedDateTime": format_utc(event.modified_at),
        "changeKey": event.change_key,
        "categories": event.categories,
        "originalStartTimeZone": event.start_time_zone,
        "originalEndTimeZone": event.end_time_zone,
        "iCalUId": event.ical_uid,
        "uid": event.ical_uid,
        "reminderMinutesBeforeStart": event.reminder_minutes,
        "isReminderOn": event.is_reminder_on,
        "hasAttachments": False,
        "subject": event.subject,
        "bodyPreview": _preview(event.body_content),
        "importance": event.importance,
        "sensitivity": event.sensitivity,
        "isAllDay": event.is_all_day,
        "isCancelled": event.is_cancelled,
        "isOrganizer": organizer.pk == viewer.pk,
        "responseRequested": True,
        "seriesMasterId": series_master_graph_id(event),
        "showAs": event.show_as,
        "type": event_type(event),
        "webLink": None,
        "onlineMeetingUrl": None,
        "isOnlineMeeting": event.is_online_meeting,
        "onlineMeetingProvider": event.online_meeting_provider,
        "allowNewTimeProposals": True,
        "isDraft": False,
        "hideAttendees": False,
        # An attendee's copy of a meeting waits for their answer (graph.meetings).
        "responseStatus": {
            "response": "organizer" if organizer.pk == event.calendar.owner_id else "notResponded",
            "time": NEVER,
        },
        "body": {"contentType": event.body_content_type, "content": event.body_content},
        "start": _event_time(event, event.start, zone_name),
        "end": _event_time(event, event.end, zone_name),
        "location": location_json(event.location),
        "locations": [location_json(event.location)] if event.location.get("displayName") else [],
        "recurrence": event.recurrence or None,
        "attendees": event.attendees,
        "organizer": {
            "emailAddress": {"name": organizer.display_name, "address": organizer.address}
        },
        "onlineMeeting": {"joinUrl": event.join_url} if event.is_online_meeting else None,
    }
    if event.original_start is not None:
        data["originalStart"] = format_utc(event.original_start)
    if event.transaction_id:
        # "This property is only returned in a response payload if an app has set it."
        data["transactionId"] = event.transaction_id
    return data


def _event_time(event: Event, instant, zone_name: str) -> dict[str, str]:
    """An event's start or end shown in ``zone_name``. An all-day event's days are not
    converted: Outlook gives their midnights (in the zone the event was made in) under
    the asked zone's name, which Microsoft answers is by design ("all day events are not
    obeying Prefer: outlook.timezone")."""
    if not event.is_all_day:
        return format_date_time_time_zone(instant, zone_name)
    try:
        own = zone(event.start_time_zone or "UTC")
    except BadTimeZone:
        own = zone("UTC")
    day = instant.astimezone(own).date()
    return {"dateTime": f"{day.isoformat()}T00:00:00.0000000", "timeZone": zone_name}


def removed_json(event: Event) -> dict:
    """How a delta query reports an event that was deleted or left the window."""
    return {
        "@odata.type": "#microsoft.graph.event",
        "id": event.graph_id,
        "@removed": {"reason": "deleted"},
    }


def location_json(location: dict) -> dict:
    return {
        "displayName": location.get("displayName", ""),
        "locationType": location.get("locationType", "default"),
        "uniqueIdType": location.get("uniqueIdType", "unknown"),
        "address": location.get("address", {}),
        "coordinates": location.get("coordinates", {}),
    }


def _preview(text: str) -> str:
    return " ".join(text.split())[:255]


def _calendar_change_key(access: CalendarAccess) -> str:
    seed = f"{access.graph_id}:{access.name}:{access.calendar.color}"
    return hashlib.sha256(seed.encode()).hexdigest()[:22]
