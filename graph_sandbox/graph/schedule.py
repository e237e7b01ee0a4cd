"""``POST /me/calendar/getSchedule``: free/busy of mailboxes in the tenant.

Each schedule answers ``scheduleItems`` (status, start, end; subject and
location only for the caller's own schedule, as the default sharing level
shows others "busy" only), an ``availabilityView`` string with one digit per
interval (0 free, 1 tentative, 2 busy, 3 oof, 4 working elsewhere) and the
mailbox's ``workingHours``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.http import HttpRequest, HttpResponse

from graph_sandbox.graph.auth import READ_CALENDARS, Caller
from graph_sandbox.graph.errors import GraphError
from graph_sandbox.graph.odata import (
    context_url,
    graph_json,
    graph_view,
    json_body,
    output_time_zone,
)
from graph_sandbox.graph.series import view_items
from graph_sandbox.models import Calendar, Event, Mailbox
from graph_sandbox.timefmt import (
    BadDateTime,
    BadTimeZone,
    format_date_time_time_zone,
    parse_date_time_time_zone,
    windows_name,
)

DIGITS = {"free": "0", "tentative": "1", "busy": "2", "oof": "3", "workingElsewhere": "4"}
# When intervals overlap several items, the "busiest" status wins.
PRIORITY = {"0": 0, "4": 1, "1": 2, "2": 3, "3": 4}
MAX_SCHEDULES = 100


@graph_view(("POST",))
def get_schedule(request: HttpRequest, caller: Caller) -> HttpResponse:
    caller.require(READ_CALENDARS)
    body = json_body(request)
    schedules = body.get("schedules")
    if not isinstance(schedules, list) or not schedules or len(schedules) > MAX_SCHEDULES:
        raise GraphError(400, "ErrorInvalidParameter", "The 'schedules' parameter is required.")
    start, end = _time(body, "startTime"), _time(body, "endTime")
    if end <= start:
        raise GraphError(400, "ErrorInvalidParameter", "The endTime must be after the startTime.")
    interval = body.get("availabilityViewInterval", 30)
    if not isinstance(interval, int) or not 5 <= interval <= 1440:
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            "availabilityViewInterval must be between 5 and 1440 minutes.",
        )
    zone_name, applied = output_time_zone(request)
    value = [
        _schedule(
            str(address),
            caller=caller,
            start=start,
            end=end,
            interval=interval,
            zone_name=zone_name,
        )
        for address in schedules
    ]
    data = {
        "@odata.context": context_url(request, "Collection(microsoft.graph.scheduleInformation)"),
        "value": value,
    }
    return graph_json(data, preference_applied=applied)


def _schedule(
    address: str, *, caller: Caller, start: datetime, end: datetime, interval: int, zone_name: str
) -> dict:
    mailbox = Mailbox.objects.filter(address__iexact=address, tenant=caller.mailbox.tenant).first()
    if mailbox is None:
        return {
            "scheduleId": address,
            "availabilityView": "",
            "scheduleItems": [],
            "error": {
                "message": f"Unable to resolve the following recipients: {address}.",
                "responseCode": "ErrorMailRecipientNotFound",
            },
        }
    calendar = Calendar.objects.filter(owner=mailbox, is_default=True).first()
    events = (
        [
            e
            for e in view_items(calendar, start, end)
            if not e.is_cancelled and e.show_as in DIGITS and e.show_as != "free"
        ]
        if calendar
        else []
    )
    own = mailbox.pk == caller.mailbox.pk
    return {
        "scheduleId": address,
        "availabilityView": _availability_view(events, start=start, end=end, interval=interval),
        "scheduleItems": [_item(e, own=own, zone_name=zone_name) for e in events],
        "workingHours": _working_hours(mailbox),
    }


def _item(event: Event, *, own: bool, zone_name: str) -> dict:
    item = {
        "isPrivate": event.sensitivity == "private",
        "status": event.show_as,
        "start": format_date_time_time_zone(event.start, zone_name),
        "end": format_date_time_time_zone(event.end, zone_name),
    }
    if own:
        item.update(
            subject=event.subject,
            location=event.location.get("displayName", ""),
            isMeeting=bool(event.attendees),
            isRecurring=False,
            isException=False,
            isReminderSet=event.is_reminder_on,
        )
    return item


def _availability_view(
    events: list[Event], *, start: datetime, end: datetime, interval: int
) -> str:
    step = timedelta(minutes=interval)
    digits = []
    slot = start
    while slot < end:
        slot_end = slot + step
        digit = "0"
        for event in events:
            if event.start < slot_end and event.end > slot:
                candidate = DIGITS[event.show_as]
                if PRIORITY[candidate] > PRIORITY[digit]:
                    digit = candidate
        digits.append(digit)
        slot = slot_end
    return "".join(digits)


def _working_hours(mailbox: Mailbox) -> dict:
    return {
        "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
        "startTime": "08:00:00.0000000",
        "endTime": "17:00:00.0000000",
        "timeZone": {"name": windows_name(mailbox.time_zone)},
    }


def _time(body: dict, name: str) -> datetime:
    try:
        instant, _ = parse_date_time_time_zone(body.get(name))
    except (BadDateTime, BadTimeZone):
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            f"The '{name}' parameter is required and must be a dateTimeTimeZone.",
        )
    return instant
