"""A weekly series in Outlook blocks the booking page at its occurrences, and only there.

End to end: the series is put in Adele's calendar in the Graph sandbox, the product's
busy-time sync reads it through ``calendarView/delta`` (the full read, then the delta
link), and the public slots API offers what is left.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from calendars.models import BusyInterval
from calendars.services.busy_sync import connection_sync
from graph_sandbox import demo
from tests.support.office365 import offered, tomorrow

pytestmark = [pytest.mark.slow]

ADELE = demo.ADELE.address
LONDON = ZoneInfo("Europe/London")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def starts(client, day) -> set[str]:
    return {
        datetime.fromisoformat(s).astimezone(LONDON).strftime("%H:%M")
        for s, _ in offered(client, "intro", first=day)
    }


def test_a_weekly_series_blocks_its_occurrences_and_not_the_days_between(
    client, adele, intro, o365
):
    first = tomorrow() + timedelta(days=10)
    start = datetime.combine(first, time(11, 0), tzinfo=LONDON)
    series = o365.control.event_add(
        ADELE,
        subject="Weekly 1:1",
        start=start,
        end=start + timedelta(minutes=30),
        recurrence={
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [DAYS[first.weekday()]]},
            "range": {"type": "numbered", "startDate": first.isoformat(), "numberOfOccurrences": 3},
        },
    )

    assert connection_sync(connection_id=adele.pk).status == "synced"

    occurrence_days = [first + timedelta(days=7 * week) for week in range(3)]
    for day in occurrence_days:
        free = starts(client, day)
        assert {"11:00", "11:15"}.isdisjoint(free), day
        assert {"10:45", "11:30"} <= free, day
    for day in (first + timedelta(days=1), first + timedelta(days=4), first + timedelta(days=21)):
        assert {"10:45", "11:00", "11:15", "11:30"} <= starts(client, day), day
    stored = BusyInterval.objects.filter(start__gte=start - timedelta(minutes=1))
    assert (
        len({row.remote_event_id for row in stored if row.start.astimezone(LONDON).hour == 11}) == 3
    )

    # Adele deletes the second occurrence in Outlook: the next sync (the delta link)
    # hears of it as removed, and that afternoon opens again.
    [_, second, _] = o365.control.occurrences(
        ADELE, series.id, start=start, end=start + timedelta(days=22)
    )
    o365.control.event_delete(ADELE, second["id"])

    assert connection_sync(connection_id=adele.pk).status == "synced"

    assert {"11:00", "11:15"} <= starts(client, occurrence_days[1])
    assert {"11:00", "11:15"}.isdisjoint(starts(client, occurrence_days[0]))
    assert {"11:00", "11:15"}.isdisjoint(starts(client, occurrence_days[2]))
