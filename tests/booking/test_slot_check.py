"""A booking is taken exactly when the slots API lists its time.

The booking POST asks the slot engine about the one time it was given, with only the
rows that can touch it; the slots API lists whole days. On a page open around the
clock with buffers and a daily cap, Alice has bookings on it (one late in the evening,
whose buffer runs past midnight), a meeting from her other page and busy time in her
calendar: every time of two days is tried both ways.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.db import transaction

from booking.models import Booking
from booking.services.pages import page_create
from calendars.models import BusyInterval
from tests.support.booking import at, book, slots_url, workday

pytestmark = pytest.mark.django_db


def _booked(page, start: datetime, minutes: int) -> None:
    Booking.objects.create(
        page=page,
        host=page.host,
        title=page.title,
        start=start,
        end=start + timedelta(minutes=minutes),
        invitee_name="Earlier invitee",
        invitee_email="earlier@example.com",
        invitee_time_zone="Europe/London",
    )


def _listed(client, page, day) -> set[datetime]:
    answer = client.get(slots_url(page.slug, start=day, end=day, tz="Europe/London"))
    return {datetime.fromisoformat(slot["start"]) for slot in answer.json()["slots"]}


def _status_of_booking(client, page, start: datetime) -> int:
    """The POST's status; whatever it wrote is rolled back, so each try sees the same day."""
    with transaction.atomic():
        status = book(client, page.slug, start=start).status_code
        transaction.set_rollback(True)
    return status


def test_every_quarter_hour_is_booked_exactly_when_the_slots_api_lists_it(
    client, host, calendars, settings
):
    settings.BOOKING_RATE_LIMIT = 0
    main, _ = calendars
    page = page_create(
        host=host,
        fields={
            "title": "Around the clock",
            "slug": "clock",
            "time_zone": "Europe/London",
            "duration_minutes": 30,
            "increment_minutes": 15,
            "buffer_before_minutes": 20,
            "buffer_after_minutes": 10,
            "max_per_day": 2,
            "minimum_notice_minutes": 0,
        },
        hours=[(weekday, time(0), time(0)) for weekday in range(7)],
    )
    other = page_create(host=host, fields={"title": "Other", "slug": "other"})
    full_day = workday("Europe/London", days_ahead=3)
    day = full_day + timedelta(days=1)
    _booked(page, at(full_day, 9), 30)
    _booked(page, at(full_day, 23, 50), 30)  # ends at 00:20 the next day
    _booked(page, at(day, 11, 10), 30)
    _booked(other, at(day, 14), 60)
    BusyInterval.objects.create(
        calendar=main, remote_event_id="e1", start=at(day, 16, 5), end=at(day, 16, 35)
    )

    listed = _listed(client, page, day)
    assert _listed(client, page, full_day) == set()  # two bookings start that day: full
    assert at(day, 0, 30) not in listed  # 00:20 plus the wider buffer (20 minutes)
    assert at(day, 0, 45) in listed
    assert at(day, 14, 30) not in listed  # the other page's meeting
    assert at(day, 16, 30) not in listed  # busy time
    assert at(day, 17) in listed
    for number in range(95):  # 00:00 to 23:30
        start = at(day, 0) + timedelta(minutes=15 * number)
        expected = 201 if start in listed else 409
        assert _status_of_booking(client, page, start) == expected, start
    for hour in range(23):
        assert _status_of_booking(client, page, at(full_day, hour, 15)) == 409
    # 23:45 would end after midnight, where the day's hours end: never offered at all.
    assert _status_of_booking(client, page, at(day, 23, 45)) == 400


def test_a_booking_that_is_made_asks_the_slot_engine_once(client, page, monkeypatch):
    """Whether the page's rules offer the time at all is asked only when it is not free:
    a free time is an offered one. A time that is both off the grid and overlapping a
    booking is still refused as never offered (400), and a taken one as taken (409)."""
    from booking import selectors

    asked = []
    engine = selectors.available_slots

    def counted(**arguments):
        asked.append(arguments["start"])
        return engine(**arguments)

    monkeypatch.setattr(selectors, "available_slots", counted)
    day = workday("Europe/London")
    assert book(client, page.slug, start=at(day, 10)).status_code == 201
    assert asked == [at(day, 10)]
    off_grid = book(client, page.slug, start=at(day, 10, 10), email="eve@example.com")
    assert off_grid.status_code == 400
    assert off_grid.json()["errors"]["start"] == ["That is not one of the times this page offers."]
    assert book(client, page.slug, start=at(day, 10), email="eve@example.com").status_code == 409
    assert Booking.objects.count() == 1
