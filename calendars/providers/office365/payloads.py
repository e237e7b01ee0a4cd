"""Turning our neutral shapes into Graph JSON and back."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from calendars.events import Availability, EventDescription
from calendars.providers.base import BusyEvent, ProviderError, RemoteCalendar, RemoteEvent
from calendars.providers.office365.zones import windows_zone, zone_named

_FRACTION = re.compile(r"\.(\d+)")
# Graph's showAs, in the neutral words (the only place that knows Graph's vocabulary).
SHOW_AS = {
    "free": Availability.FREE,
    "tentative": Availability.TENTATIVE,
    "busy": Availability.BUSY,
    "oof": Availability.OUT_OF_OFFICE,
    "workingElsewhere": Availability.WORKING_ELSEWHERE,
    "unknown": Availability.UNKNOWN,
}


def graph_time(value: datetime) -> dict[str, str]:
    """An aware datetime as Graph's dateTimeTimeZone, in UTC.

    UTC is accepted by every Graph method, while IANA names are only partly
    supported by create/update; Outlook shows the event in the reader's own zone.
    """
    utc = value.astimezone(UTC).replace(tzinfo=None)
    return {"dateTime": utc.isoformat(timespec="seconds"), "timeZone": "UTC"}


def instant(value: str) -> datetime:
    """An ISO 8601 instant with ``Z`` or an offset (a subscription's ``expirationDateTime``,
    up to seven fractional digits) as aware UTC; ValueError if it has neither."""
    raw = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), value.strip(), count=1)
    parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("no offset")
    return parsed.astimezone(UTC)


def graph_local_time(value: datetime, time_zone: str) -> dict[str, str]:
    """An aware datetime as wall time in ``time_zone`` (IANA), named the Windows way.

    Falls back to UTC for a zone without a known Windows name, and for a wall time
    that does not name one instant (the repeated hour when clocks go back).
    """
    name = windows_zone(time_zone)
    if name is None:
        return graph_time(value)
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return graph_time(value)
    wall = value.astimezone(zone).replace(tzinfo=None)
    offsets = {wall.replace(tzinfo=zone, fold=fold).utcoffset() for fold in (0, 1)}
    if len(offsets) != 1:  # a repeated wall time: the zone's name alone is ambiguous
        return graph_time(value)
    return {"dateTime": wall.isoformat(timespec="seconds"), "timeZone": name}


def parse_graph_time(value: dict) -> datetime:
    """Graph's {"dateTime": "2026-01-05T09:00:00.0000000", "timeZone": "UTC"} as aware UTC.

    We ask for every time in UTC (``Prefer: outlook.timezone="UTC"``), and Microsoft
    says start and end times come in the zone asked for, in UTC when none is. A
    ``timeZone`` naming a zone we know (Windows or IANA) is read in that zone; one that
    names no rules ("tzone://Microsoft/Custom", "Customized Time Zone": an event made
    in desktop Outlook under a legacy custom zone) is read as the UTC we asked for,
    rather than failing the whole calendar's read over one event.
    """
    try:
        raw = value["dateTime"]
        zone_name = str(value.get("timeZone") or "UTC")
        # Graph sends seven fractional digits; Python reads at most six.
        raw = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), raw, count=1)
        naive = datetime.fromisoformat(raw)
    except (KeyError, TypeError, ValueError):
        raise ProviderError("Graph sent a date and time we cannot read.", code="InvalidResponse")
    if naive.tzinfo is not None:
        return naive.astimezone(UTC)
    zone = zone_named(zone_name) or UTC
    try:
        return naive.replace(tzinfo=zone).astimezone(UTC)
    except OverflowError:  # year 1 or 9999 shifted past the calendar's ends
        raise ProviderError(
            "Graph sent a date and time we cannot read.", code="InvalidResponse"
        ) from None


def event_body(
    event: EventDescription, *, reminder_minutes: int | None, transaction_id: str | None = None
) -> dict:
    """The Graph event for ``event``; ``transaction_id`` only on create (it cannot change)."""
    body: dict = {
        "subject": event.subject,
        "body": {"contentType": "text", "content": event.body_text},
        "start": graph_local_time(event.start, event.time_zone),
        "end": graph_local_time(event.end, event.time_zone),
        "location": {"displayName": event.location},
        "attendees": [
            {
                "emailAddress": {
                    "address": attendee.email,
                    "name": attendee.name or attendee.email,
                },
                "type": "required",
            }
            for attendee in event.attendees
        ],
        "isReminderOn": reminder_minutes is not None,
        "reminderMinutesBeforeStart": reminder_minutes if reminder_minutes is not None else 0,
        "isOnlineMeeting": event.online_meeting,
    }
    if event.online_meeting:
        body["onlineMeetingProvider"] = ONLINE_MEETING_PROVIDER
    if transaction_id:
        body["transactionId"] = transaction_id
    return body


def remote_event(item: dict) -> RemoteEvent:
    meeting = item.get("onlineMeeting") or {}
    return RemoteEvent(remote_id=str(item["id"]), online_meeting_url=meeting.get("joinUrl") or "")


def busy_event(item: dict) -> BusyEvent:
    all_day = _all_day(item)
    if all_day is not None:
        # Days, whatever zone name they came under (the host's zone places them).
        start, end = (datetime.combine(day, time(0), UTC) for day in all_day)
    else:
        start, end = parse_graph_time(item["start"]), parse_graph_time(item["end"])
    return BusyEvent(
        remote_id=str(item["id"]),
        start=start,
        end=end,
        # An event without showAs is busy, as Outlook shows it; a word we do not know is not.
        availability=SHOW_AS.get(str(item.get("showAs") or "busy"), Availability.UNKNOWN),
        is_cancelled=bool(item.get("isCancelled", False)) or _declined(item),
        transaction_id=str(item.get("transactionId") or ""),
        all_day=all_day,
    )


def _declined(item: dict) -> bool:
    """The calendar's owner declined this meeting (``responseStatus``), and a calendar that
    keeps declined meetings shows them: they will not be there, whatever ``showAs`` says."""
    status = item.get("responseStatus")
    return isinstance(status, dict) and status.get("response") == "declined"


def _all_day(item: dict) -> tuple[date, date] | None:
    """An all-day event's days: Graph gives them as midnights labelled with the zone the
    request asked for, without converting them (Microsoft answers that this is by design:
    "all day events are not obeying Prefer: outlook.timezone"). None for other events,
    and for an all-day event whose times are not both midnights (then they are instants)."""
    if item.get("isAllDay") is not True:
        return None
    days = [_midnight_date(item.get(key)) for key in ("start", "end")]
    first, after = days
    if first is None or after is None or after <= first:
        return None
    return first, after


def _midnight_date(value: object) -> date | None:
    """The date of a ``dateTimeTimeZone`` that is a midnight without an offset, else None."""
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        return None
    raw = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), value["dateTime"], count=1)
    try:
        wall = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if wall.tzinfo is not None or wall.time() != time(0):
        return None
    return wall.date()


def remote_calendar(item: dict) -> RemoteCalendar:
    owner = item.get("owner") or {}
    color = item.get("hexColor") or ""
    return RemoteCalendar(
        remote_id=str(item["id"]),
        name=str(item.get("name") or "Calendar"),
        color=color if re.fullmatch(r"#[0-9A-Fa-f]{6}", color) else "",
        is_default=bool(item.get("isDefaultCalendar", False)),
        can_edit=bool(item.get("canEdit", False)),
        owner_address=str(owner.get("address") or ""),
        can_share=bool(item.get("canShare", False)),
        online_meetings=_allows_teams(item),
    )


# The online meeting provider we ask for (``event_body``): Teams, as a work or school
# account's calendar has it.
ONLINE_MEETING_PROVIDER = "teamsForBusiness"


def _allows_teams(item: dict) -> bool:
    """Whether Graph can make the calendar's events Teams meetings: Microsoft says to ask
    for an ``onlineMeetingProvider`` among the calendar's ``allowedOnlineMeetingProviders``
    (a personal account's calendar lists none of Teams for business). A calendar that does
    not say is taken to allow it, as before."""
    allowed = item.get("allowedOnlineMeetingProviders")
    if not isinstance(allowed, list):
        return True
    return ONLINE_MEETING_PROVIDER in allowed
