"""Busy time from Graph's calendar view as Microsoft documents it, answered with ``responses``.

Microsoft Graph v1.0, "event: delta" and "List calendarView": the view holds single
instances, and the occurrences and exceptions of recurring series already expanded (a
series master never appears); ``showAs`` is free, tentative, busy, oof, workingElsewhere
or unknown; an attendee's copy of a cancelled meeting (or occurrence) stays in the view
with ``isCancelled: true`` until they remove it; times come in the zone ``Prefer:
outlook.timezone`` asked for, with seven fractional digits.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import responses

from calendars.models import BusyInterval, Calendar
from calendars.services.busy_sync import calendar_sync
from tests.support.microsoft import GRAPH

pytestmark = pytest.mark.django_db

DELTA = f"{GRAPH}/me/calendars/AAMkADefault%3D/calendarView/delta"


def _at(days: int, hour: int, minute: int = 0) -> datetime:
    day = datetime.now(UTC).date() + timedelta(days=days)
    return datetime.combine(day, time(hour, minute), UTC)


def _london_midnight(days: int) -> datetime:
    day = datetime.now(UTC).date() + timedelta(days=days)
    return datetime.combine(day, time(0), ZoneInfo("Europe/London"))


def _graph_time(value: datetime) -> dict:
    return {"dateTime": value.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"}


def _event(event_id: str, start: datetime, minutes: int, **fields) -> dict:
    return {
        "@odata.type": "#microsoft.graph.event",
        "@odata.etag": 'W/"DwAAABYAAADDoHDiU6TGSbQ0sFuhOgr4AAAXb9pV"',
        "id": event_id,
        "subject": "Weekly sync",
        "type": "singleInstance",
        "seriesMasterId": None,
        "showAs": "busy",
        "isCancelled": False,
        "isAllDay": False,
        "transactionId": None,
        "start": _graph_time(start),
        "end": _graph_time(start + timedelta(minutes=minutes)),
        **fields,
    }


def test_a_series_blocks_each_occurrence_but_not_a_cancelled_or_free_one(connected, fake_microsoft):
    calendar = Calendar.objects.get(connection=connected, is_default=True)
    Calendar.objects.filter(pk=calendar.pk).update(busy_horizon_days=30)
    calendar.refresh_from_db()
    series = {"seriesMasterId": "AAMkSeries="}
    fake_microsoft.mock.add(
        responses.GET,
        DELTA,
        json={
            "@odata.context": f"{GRAPH}/$metadata#Collection(event)",
            "value": [
                _event("AAMkOcc1=", _at(1, 9), 30, type="occurrence", **series),
                # The second occurrence was moved by the organizer: an exception.
                _event("AAMkOcc2=", _at(8, 15), 30, type="exception", **series),
                # The third was cancelled: the attendee's copy stays, marked cancelled.
                _event("AAMkOcc3=", _at(15, 9), 30, type="occurrence", isCancelled=True, **series),
                _event("AAMkLunch=", _at(2, 12), 60, showAs="free"),
                _event("AAMkOof=", _at(3, 0), 24 * 60, showAs="oof", isAllDay=True),
                _event("AAMkOdd=", _at(4, 9), 30, showAs="unknown"),
            ],
            "@odata.deltaLink": f"{DELTA}?$deltatoken=R0usmcCM996atia",
        },
    )

    calendar_sync(connection=connected, calendar=calendar)

    stored = {
        row.remote_event_id: (row.start, row.end, row.show_as)
        for row in BusyInterval.objects.filter(calendar=calendar)
    }
    assert stored == {
        "AAMkOcc1=": (_at(1, 9), _at(1, 9, 30), "busy"),
        "AAMkOcc2=": (_at(8, 15), _at(8, 15, 30), "busy"),
        # An all-day event's days are the host's own (Alice lives in London).
        "AAMkOof=": (_london_midnight(3), _london_midnight(4), "oof"),
    }
    [request] = [c.request for c in fake_microsoft.mock.calls if c.request.url.startswith(DELTA)]
    assert request.headers["Prefer"].startswith('outlook.timezone="UTC"')


# Microsoft's "Use delta query" page: one item "can show up anywhere in the
# @odata.nextLink sequence", and more than once in a round; updated items carry "at
# least the properties that have been updated". Graph's own links name /me/calendarView.
ROUND = f"{GRAPH}/me/calendarView/delta"


def _page(url: str, token: dict, items: list[dict], **links) -> dict:
    """One delta page at ``url`` with ``token`` in its query."""
    return {
        "method": responses.GET,
        "url": url,
        "json": {"@odata.context": f"{GRAPH}/$metadata#Collection(event)", "value": items, **links},
        "match": [responses.matchers.query_param_matcher(token)],
    }


def _synced_with(connected, fake_microsoft, items: list[dict]) -> Calendar:
    """The default calendar after a full read of ``items``; its delta link is ``first``."""
    calendar = Calendar.objects.get(connection=connected, is_default=True)
    Calendar.objects.filter(pk=calendar.pk).update(busy_horizon_days=30)
    calendar.refresh_from_db()
    fake_microsoft.mock.add(
        responses.GET,
        DELTA,
        json={"value": items, "@odata.deltaLink": f"{ROUND}?$deltatoken=first"},
    )
    calendar_sync(connection=connected, calendar=calendar)
    return calendar


def _stored(calendar: Calendar) -> dict[str, tuple]:
    rows = BusyInterval.objects.filter(calendar=calendar)
    return {row.remote_event_id: (row.start, row.end) for row in rows}


def test_an_event_moved_then_deleted_in_one_round_is_not_busy(connected, fake_microsoft):
    calendar = _synced_with(connected, fake_microsoft, [_event("AAMkA=", _at(1, 9), 60)])
    mock = fake_microsoft.mock
    # Page one: the event moved to the afternoon; page two: it was then deleted.
    mock.add(
        **_page(
            ROUND,
            {"$deltatoken": "first"},
            [_event("AAMkA=", _at(1, 14), 60)],
            **{"@odata.nextLink": f"{ROUND}?$skiptoken=two"},
        )
    )
    mock.add(
        **_page(
            ROUND,
            {"$skiptoken": "two"},
            [{"id": "AAMkA=", "@removed": {"reason": "deleted"}}],
            **{"@odata.deltaLink": f"{ROUND}?$deltatoken=next"},
        )
    )

    calendar_sync(connection=connected, calendar=calendar)

    assert _stored(calendar) == {}


def test_an_event_removed_then_back_in_the_window_is_busy_at_its_new_time(
    connected, fake_microsoft
):
    calendar = _synced_with(connected, fake_microsoft, [_event("AAMkA=", _at(1, 9), 60)])
    mock = fake_microsoft.mock
    mock.add(
        **_page(
            ROUND,
            {"$deltatoken": "first"},
            [{"id": "AAMkA=", "@removed": {"reason": "deleted"}}],
            **{"@odata.nextLink": f"{ROUND}?$skiptoken=two"},
        )
    )
    mock.add(
        **_page(
            ROUND,
            {"$skiptoken": "two"},
            [_event("AAMkA=", _at(2, 11), 30)],
            **{"@odata.deltaLink": f"{ROUND}?$deltatoken=next"},
        )
    )

    calendar_sync(connection=connected, calendar=calendar)

    assert _stored(calendar) == {"AAMkA=": (_at(2, 11), _at(2, 11, 30))}


def test_a_change_without_its_times_means_a_full_read(connected, fake_microsoft):
    calendar = _synced_with(connected, fake_microsoft, [_event("AAMkA=", _at(1, 9), 60)])
    # Only the subject changed, and the change names only what changed.
    fake_microsoft.mock.add(
        **_page(
            ROUND,
            {"$deltatoken": "first"},
            [{"@odata.type": "#microsoft.graph.event", "id": "AAMkA=", "subject": "Renamed"}],
            **{"@odata.deltaLink": f"{ROUND}?$deltatoken=next"},
        )
    )

    calendar_sync(connection=connected, calendar=calendar)

    assert _stored(calendar) == {"AAMkA=": (_at(1, 9), _at(1, 10))}
    reads = [c.request.url for c in fake_microsoft.mock.calls if "delta" in c.request.url]
    assert "startDateTime" in reads[-1]  # read again from the start
    calendar.refresh_from_db()
    assert calendar.last_sync_error == ""


def test_a_free_event_moved_with_a_change_naming_only_its_times_stays_free(
    connected, fake_microsoft
):
    busy = _event("AAMkBusy=", _at(1, 9), 60)
    free = _event("AAMkFree=", _at(1, 11), 60, showAs="free")
    calendar = _synced_with(connected, fake_microsoft, [busy, free])
    assert set(_stored(calendar)) == {"AAMkBusy="}
    # The free event moved: a change may name only what changed (its times), so whether
    # it blocks (showAs), is all day or was cancelled is not in it.
    moved = {
        "@odata.type": "#microsoft.graph.event",
        "id": "AAMkFree=",
        "start": _graph_time(_at(1, 14)),
        "end": _graph_time(_at(1, 15)),
    }
    fake_microsoft.mock.add(
        **_page(
            ROUND,
            {"$deltatoken": "first"},
            [moved],
            **{"@odata.deltaLink": f"{ROUND}?$deltatoken=next"},
        )
    )
    # Read again in full: the event as it is now, still free.
    fake_microsoft.mock.add(
        responses.GET,
        DELTA,
        json={
            "value": [busy, {**free, "start": moved["start"], "end": moved["end"]}],
            "@odata.deltaLink": f"{ROUND}?$deltatoken=again",
        },
    )

    calendar_sync(connection=connected, calendar=calendar)

    assert _stored(calendar) == {"AAMkBusy=": (_at(1, 9), _at(1, 10))}


def test_times_under_a_windows_zone_name_are_read(connected, fake_microsoft):
    # Graph's dateTimeTimeZone names zones the Windows way ("Pacific Standard Time" in
    # its own examples), and an all-day event may come under its own zone's name instead
    # of the one asked for (Microsoft Q&A: "all day events are not obeying Prefer").
    los_angeles = ZoneInfo("America/Los_Angeles")
    day = datetime.now(UTC).date() + timedelta(days=2)
    local = datetime.combine(day, time(10, 0), los_angeles)

    def wall(value: datetime, zone: str) -> dict:
        return {"dateTime": value.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": zone}

    meeting = _event("AAMkPacific=", local, 30)
    meeting["start"] = wall(local, "Pacific Standard Time")
    meeting["end"] = wall(local + timedelta(minutes=30), "Pacific Standard Time")
    day_off = _event("AAMkDayOff=", local, 0, showAs="oof", isAllDay=True)
    midnight = datetime.combine(day + timedelta(days=1), time(0))
    day_off["start"] = wall(midnight, "Pakistan Standard Time")
    day_off["end"] = wall(midnight + timedelta(days=1), "Pakistan Standard Time")

    calendar = _synced_with(connected, fake_microsoft, [meeting, day_off])

    assert _stored(calendar) == {
        "AAMkPacific=": (local, local + timedelta(minutes=30)),
        "AAMkDayOff=": (_london_midnight(3), _london_midnight(4)),
    }


def test_a_time_zone_name_that_tells_no_rules_is_read_as_the_utc_we_asked_for(
    connected, fake_microsoft
):
    # We ask for UTC (Prefer: outlook.timezone), and "List calendarView" says start and
    # end come in the zone asked for, in UTC when none is. Microsoft's event resource
    # says "tzone://Microsoft/Custom" means "a legacy custom time zone was set in desktop
    # Outlook"; Outlook also writes "Customized Time Zone" and "tzone://Microsoft/Utc".
    # One such event must not fail the calendar's read; a Windows name beyond the
    # common ones (CLDR's windowsZones) is read in its zone.
    colombo = ZoneInfo("Asia/Colombo")
    day = datetime.now(UTC).date() + timedelta(days=2)

    def at(hour: int, zone: str, minutes: int = 0) -> dict:
        wall = datetime.combine(day, time(hour, minutes))
        return {"dateTime": wall.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": zone}

    def event(event_id: str, zone: str, hour: int) -> dict:
        item = _event(event_id, _at(2, hour), 30, originalStartTimeZone=zone)
        item["start"], item["end"] = at(hour, zone), at(hour, zone, 30)
        return item

    items = [
        event("AAMkCustom=", "tzone://Microsoft/Custom", 9),
        event("AAMkCustomized=", "Customized Time Zone", 11),
        event("AAMkUtc=", "tzone://Microsoft/Utc", 13),
        event("AAMkColombo=", "Sri Lanka Standard Time", 15),
    ]

    calendar = _synced_with(connected, fake_microsoft, items)

    local = datetime.combine(day, time(15), colombo)
    assert _stored(calendar) == {
        "AAMkCustom=": (_at(2, 9), _at(2, 9, 30)),
        "AAMkCustomized=": (_at(2, 11), _at(2, 11, 30)),
        "AAMkUtc=": (_at(2, 13), _at(2, 13, 30)),
        "AAMkColombo=": (local, local + timedelta(minutes=30)),
    }
    assert Calendar.objects.get(pk=calendar.pk).last_sync_error == ""


def test_a_meeting_the_host_declined_does_not_block(connected, fake_microsoft):
    # The event resource's responseStatus: "Indicates the type of response sent in
    # response to an event message"; a calendar set to keep declined meetings still lists
    # them. The host will not be there, so the time is free whatever showAs says.
    def answered(event_id: str, hour: int, response: str) -> dict:
        status = {"response": response, "time": "2026-03-02T10:15:27Z"}
        return _event(event_id, _at(2, hour), 30, responseStatus=status)

    items = [
        answered("AAMkDeclined=", 9, "declined"),
        answered("AAMkAccepted=", 11, "accepted"),
        answered("AAMkPending=", 13, "notResponded"),
        answered("AAMkOwn=", 15, "organizer"),
    ]

    calendar = _synced_with(connected, fake_microsoft, items)

    assert set(_stored(calendar)) == {"AAMkAccepted=", "AAMkPending=", "AAMkOwn="}


ACCESS_DENIED = {
    "error": {
        "code": "ErrorAccessDenied",
        "message": "Access is denied. Check credentials and try again.",
        "innerError": {"date": "2026-03-02T10:15:27", "request-id": "b7c8"},
    }
}


def test_a_calendar_we_may_no_longer_read_stops_blocking_time_after_a_day(
    connected, fake_microsoft, settings
):
    """Graph answers 403 ErrorAccessDenied (the host's rights to the calendar were
    withdrawn): Setup says so at once; the busy time already read keeps blocking while the
    last good read is within CALENDAR_SYNC_FULL_EVERY, then is dropped, as for a calendar
    deleted in Outlook (404), instead of blocking those times for good."""
    from calendars.error_text import error_shown
    from calendars.services.busy_sync import _sync_calendars

    calendar = _synced_with(connected, fake_microsoft, [_event("AAMkA=", _at(1, 9), 60)])
    Calendar.objects.filter(pk=calendar.pk).update(last_synced_at=datetime.now(UTC))
    fake_microsoft.mock.add(responses.GET, ROUND, status=403, json=ACCESS_DENIED)

    assert _sync_calendars(connection=connected, attempt=1).status == "partial"
    calendar.refresh_from_db()
    assert error_shown(calendar.last_sync_error) == (
        "Office 365 no longer lets us write to (or read) this calendar"
    )
    assert set(_stored(calendar)) == {"AAMkA="}  # a withdrawal is often undone soon

    a_day = timedelta(seconds=settings.CALENDAR_SYNC_FULL_EVERY, minutes=1)
    Calendar.objects.filter(pk=calendar.pk).update(last_synced_at=datetime.now(UTC) - a_day)
    assert _sync_calendars(connection=connected, attempt=2).status == "partial"

    assert _stored(calendar) == {}
    calendar.refresh_from_db()
    assert calendar.last_sync_error  # still shown in Setup
