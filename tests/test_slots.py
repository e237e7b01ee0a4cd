"""Example tests of the slot engine: concrete pages, concrete days, concrete slots.

Slots are shown as "HH:MM+hhmm to HH:MM+hhmm" in the zone they are read in, so
each expectation states both the wall clock and the absolute instant.
"""

from __future__ import annotations

import ast
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import booking.slots
from booking.slots import Interval, Rules, available_slots, days_with_slots, slots_by_day

NEW_YORK = "America/New_York"
LONDON = "Europe/London"
LORD_HOWE = "Australia/Lord_Howe"
EVERY_DAY = range(7)
MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY = range(7)


def hm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def hours(*ranges: str) -> list[tuple[time, time]]:
    """``hours("09:00-12:00", "13:00-17:00")``; "24:00" is the midnight ending the day."""
    parsed = []
    for text in ranges:
        first, last = text.split("-")
        parsed.append((hm(first), time(0, 0) if last == "24:00" else hm(last)))
    return parsed


def minutes(value: int) -> timedelta:
    return timedelta(minutes=value)


def at(zone: str, day: date, wall: str, *, fold: int = 0) -> datetime:
    return datetime.combine(day, hm(wall), tzinfo=ZoneInfo(zone)).replace(fold=fold)


def page(zone: str, weekly: dict | None = None, **options) -> Rules:
    """A page open 09:00-17:00 every weekday unless told otherwise; 30-minute slots."""
    if weekly is None:
        weekly = {weekday: hours("09:00-17:00") for weekday in range(5)}
    return Rules(time_zone=zone, weekly_hours=weekly, **options)


def slots_between(
    rules: Rules,
    first_day: date,
    last_day: date | None = None,
    *,
    busy=(),
    bookings=(),
    now: datetime | None = None,
) -> list[Interval]:
    """Slots from local midnight of ``first_day`` to the midnight ending ``last_day``."""
    zone = ZoneInfo(rules.time_zone)
    start = datetime.combine(first_day, time(0), tzinfo=zone)
    end = datetime.combine((last_day or first_day) + timedelta(days=1), time(0), tzinfo=zone)
    return available_slots(
        rules=rules,
        busy=busy,
        bookings=bookings,
        start=start,
        end=end,
        now=now or start - timedelta(days=1),
    )


def shown(slots: list[Interval], zone: str) -> list[str]:
    tz = ZoneInfo(zone)
    return [
        f"{slot.start.astimezone(tz):%H:%M%z} to {slot.end.astimezone(tz):%H:%M%z}"
        for slot in slots
    ]


def starts(slots: list[Interval], zone: str, fmt: str = "%H:%M") -> list[str]:
    tz = ZoneInfo(zone)
    return [slot.start.astimezone(tz).strftime(fmt) for slot in slots]


# --- daylight saving time ----------------------------------------------------------------

DST_CASES = [
    pytest.param(
        NEW_YORK,
        date(2025, 3, 9),  # 02:00 EST -> 03:00 EDT
        "00:00-06:00",
        60,
        30,
        [
            "00:00-0500 to 01:00-0500",
            "00:30-0500 to 01:30-0500",
            "01:00-0500 to 03:00-0400",
            "01:30-0500 to 03:30-0400",
            "03:00-0400 to 04:00-0400",
            "03:30-0400 to 04:30-0400",
            "04:00-0400 to 05:00-0400",
            "04:30-0400 to 05:30-0400",
            "05:00-0400 to 06:00-0400",
        ],
        id="new-york-spring-night-range-crossing-the-gap",
    ),
    pytest.param(
        NEW_YORK,
        date(2025, 3, 9),
        "02:30-04:30",  # starts in the gap: opens at 03:00 EDT, keeps its 02:30 + k*60 grid
        60,
        60,
        ["03:30-0400 to 04:30-0400"],
        id="new-york-spring-range-starting-in-the-gap",
    ),
    pytest.param(
        NEW_YORK,
        date(2025, 3, 9),
        "00:00-02:30",  # ends in the gap: closes at the jump, 03:00 EDT
        60,
        30,
        [
            "00:00-0500 to 01:00-0500",
            "00:30-0500 to 01:30-0500",
            "01:00-0500 to 03:00-0400",
        ],
        id="new-york-spring-range-ending-in-the-gap",
    ),
    pytest.param(
        NEW_YORK,
        date(2025, 3, 9),
        "02:15-02:45",
        15,
        15,
        [],
        id="new-york-spring-range-inside-the-gap",
    ),
    pytest.param(
        NEW_YORK,
        date(2025, 11, 2),  # 02:00 EDT -> 01:00 EST; 01:00-02:00 happens twice
        "00:00-03:00",
        30,
        30,
        [
            "00:00-0400 to 00:30-0400",
            "00:30-0400 to 01:00-0400",
            "01:00-0400 to 01:30-0400",
            "01:30-0400 to 01:00-0500",
            "02:00-0500 to 02:30-0500",
            "02:30-0500 to 03:00-0500",
        ],
        id="new-york-fall-night-range-offers-the-repeated-hour-once",
    ),
    pytest.param(
        NEW_YORK,
        date(2025, 11, 2),
        "01:00-02:00",
        15,
        15,
        [
            "01:00-0400 to 01:15-0400",
            "01:15-0400 to 01:30-0400",
            "01:30-0400 to 01:45-0400",
            "01:45-0400 to 01:00-0500",
        ],
        id="new-york-fall-range-inside-the-repeated-hour",
    ),
    pytest.param(
        LONDON,
        date(2025, 3, 30),  # 01:00 GMT -> 02:00 BST
        "00:00-03:00",
        30,
        30,
        [
            "00:00+0000 to 00:30+0000",
            "00:30+0000 to 02:00+0100",
            "02:00+0100 to 02:30+0100",
            "02:30+0100 to 03:00+0100",
        ],
        id="london-spring",
    ),
    pytest.param(
        LONDON,
        date(2025, 10, 26),  # 02:00 BST -> 01:00 GMT
        "00:30-02:30",
        30,
        30,
        [
            "00:30+0100 to 01:00+0100",
            "01:00+0100 to 01:30+0100",
            "01:30+0100 to 01:00+0000",
            "02:00+0000 to 02:30+0000",
        ],
        id="london-fall",
    ),
    pytest.param(
        LORD_HOWE,
        date(2025, 10, 5),  # 02:00 +10:30 -> 02:30 +11:00, a half-hour jump
        "01:00-04:00",
        30,
        30,
        [
            "01:00+1030 to 01:30+1030",
            "01:30+1030 to 02:30+1100",
            "02:30+1100 to 03:00+1100",
            "03:00+1100 to 03:30+1100",
            "03:30+1100 to 04:00+1100",
        ],
        id="lord-howe-spring",
    ),
    pytest.param(
        LORD_HOWE,
        date(2025, 10, 5),
        "01:45-02:45",
        15,
        15,
        ["01:45+1030 to 02:30+1100", "02:30+1100 to 02:45+1100"],
        id="lord-howe-spring-quarter-hours-around-the-gap",
    ),
    pytest.param(
        LORD_HOWE,
        date(2025, 4, 6),  # 02:00 +11:00 -> 01:30 +10:30; 01:30-02:00 happens twice
        "01:00-03:00",
        15,
        15,
        [
            "01:00+1100 to 01:15+1100",
            "01:15+1100 to 01:30+1100",
            "01:30+1100 to 01:45+1100",
            "01:45+1100 to 01:30+1030",
            "02:00+1030 to 02:15+1030",
            "02:15+1030 to 02:30+1030",
            "02:30+1030 to 02:45+1030",
            "02:45+1030 to 03:00+1030",
        ],
        id="lord-howe-fall",
    ),
]


@pytest.mark.parametrize(
    ("zone", "day", "wall_range", "duration", "increment", "expected"), DST_CASES
)
def test_clock_change_days(zone, day, wall_range, duration, increment, expected):
    rules = page(
        zone,
        weekly={},
        date_overrides={day: hours(wall_range)},
        duration=minutes(duration),
        increment=minutes(increment),
    )
    assert shown(slots_between(rules, day), zone) == expected


@pytest.mark.parametrize(
    ("zone", "before", "change", "after"),
    [
        (NEW_YORK, date(2025, 3, 8), date(2025, 3, 9), date(2025, 3, 10)),
        (NEW_YORK, date(2025, 11, 1), date(2025, 11, 2), date(2025, 11, 3)),
        (LONDON, date(2025, 3, 29), date(2025, 3, 30), date(2025, 3, 31)),
        (LONDON, date(2025, 10, 25), date(2025, 10, 26), date(2025, 10, 27)),
        (LORD_HOWE, date(2025, 10, 4), date(2025, 10, 5), date(2025, 10, 6)),
        (LORD_HOWE, date(2025, 4, 5), date(2025, 4, 6), date(2025, 4, 7)),
    ],
)
def test_a_clock_change_moves_nothing_the_host_sees(zone, before, change, after):
    rules = page(zone, weekly={day: hours("09:00-17:00") for day in EVERY_DAY})
    slots = slots_between(rules, before, after)

    by_day = slots_by_day(slots, zone)
    working_day = [f"{9 + half // 2:02d}:{30 * (half % 2):02d}" for half in range(16)]
    assert list(by_day) == [before, change, after]
    for day_slots in by_day.values():
        assert [slot.start.strftime("%H:%M") for slot in day_slots] == working_day
    offsets = {day: day_slots[0].start.utcoffset() for day, day_slots in by_day.items()}
    assert offsets[before] != offsets[after]  # the instants did move


def test_whole_day_ranges_on_clock_change_days():
    rules = page(
        NEW_YORK,
        weekly={day: hours("00:00-24:00") for day in EVERY_DAY},
        duration=minutes(60),
        increment=minutes(60),
    )
    spring = slots_between(rules, date(2025, 3, 9))
    fall = slots_between(rules, date(2025, 11, 2))

    assert starts(spring, NEW_YORK) == [f"{h:02d}:00" for h in range(24) if h != 2]
    assert starts(fall, NEW_YORK) == [f"{h:02d}:00" for h in range(24)]
    assert starts(fall, NEW_YORK, "%H:%M%z")[1:3] == ["01:00-0400", "02:00-0500"]
    assert fall[-1].end == at(NEW_YORK, date(2025, 11, 3), "00:00")


def test_a_day_that_does_not_exist_offers_nothing():
    # Samoa skipped 30 December 2011, moving from UTC-10 to UTC+14.
    rules = page("Pacific/Apia", weekly={day: hours("09:00-17:00") for day in EVERY_DAY})
    slots = available_slots(
        rules=rules,
        busy=[],
        bookings=[],
        start=datetime(2011, 12, 29, 10, tzinfo=UTC),
        end=datetime(2011, 12, 31, 10, tzinfo=UTC),
        now=datetime(2011, 12, 1, tzinfo=UTC),
    )
    assert days_with_slots(slots, "Pacific/Apia") == [date(2011, 12, 29), date(2011, 12, 31)]


def test_a_window_ending_in_a_repeated_hour_of_the_previous_date():
    # Casey went from UTC+11 to UTC+8 at 02:00 on 5 March 2010: the clock went back to
    # 23:00 on the 4th. A window ending at the second 23:30 of the 4th still includes
    # the first 00:00 and 01:00 of the 5th, which came earlier.
    casey = "Antarctica/Casey"
    rules = page(
        casey,
        weekly={},
        date_overrides={
            date(2010, 3, 4): hours("23:00-24:00"),
            date(2010, 3, 5): hours("00:00-02:00"),
        },
        duration=minutes(60),
        increment=minutes(60),
    )
    end = at(casey, date(2010, 3, 4), "23:30", fold=1)
    slots = available_slots(
        rules=rules,
        busy=[],
        bookings=[],
        start=datetime(2010, 3, 4, tzinfo=UTC),
        end=end,
        now=datetime(2010, 3, 1, tzinfo=UTC),
    )
    assert starts(slots, casey, "%d %H:%M%z") == ["04 23:00+1100", "05 00:00+1100", "05 01:00+1100"]
    assert all(slot.start < end for slot in slots)


# --- invitees in other zones -------------------------------------------------------------


@pytest.mark.parametrize(
    ("viewer", "monday", "expected_days", "first_day_starts"),
    [
        (
            "Asia/Kolkata",
            date(2026, 1, 12),
            [date(2026, 1, d) for d in range(12, 17)],
            [f"{h}:30+0530" for h in range(14, 22)],
        ),
        (
            "Pacific/Chatham",  # +13:45 in January: London's afternoon is tomorrow there
            date(2026, 1, 12),
            [date(2026, 1, d) for d in range(12, 18)],
            ["22:45+1345", "23:45+1345"],
        ),
        (
            "Asia/Kolkata",  # London on summer time: 09:00 BST is 13:30 IST
            date(2026, 7, 13),
            [date(2026, 7, d) for d in range(13, 18)],
            [f"{h}:30+0530" for h in range(13, 21)],
        ),
        (
            "Pacific/Chatham",  # +12:45 in July
            date(2026, 7, 13),
            [date(2026, 7, d) for d in range(13, 19)],
            ["20:45+1245", "21:45+1245", "22:45+1245", "23:45+1245"],
        ),
    ],
)
def test_a_london_page_seen_from_far_away(viewer, monday, expected_days, first_day_starts):
    rules = page(LONDON, duration=minutes(60), increment=minutes(60))
    slots = slots_between(rules, monday, monday + timedelta(days=4))

    assert len(slots) == 5 * 8
    assert days_with_slots(slots, viewer) == expected_days
    by_day = slots_by_day(slots, viewer)
    assert [f"{slot.start:%H:%M%z}" for slot in by_day[monday]] == first_day_starts
    assert sum(len(day_slots) for day_slots in by_day.values()) == 40
    assert starts(slots, LONDON)[:8] == [f"{h:02d}:00" for h in range(9, 17)]


def test_slots_are_returned_in_utc():
    rules = page(LONDON)
    slots = slots_between(rules, date(2026, 7, 13))
    assert {slot.start.tzinfo for slot in slots} == {UTC}
    assert slots[0].start == datetime(2026, 7, 13, 8, 0, tzinfo=UTC)


# --- overrides, ranges and increments ----------------------------------------------------


def test_overrides_close_a_day_open_a_weekend_and_replace_hours():
    rules = page(
        NEW_YORK,
        date_overrides={
            date(2026, 2, 10): [],  # Tuesday closed
            date(2026, 2, 11): hours("13:00-14:00"),  # Wednesday afternoon only
            date(2026, 2, 14): hours("10:00-12:00"),  # Saturday opened
        },
    )
    slots = slots_between(rules, date(2026, 2, 9), date(2026, 2, 15))
    by_day = {
        day: [f"{s.start:%H:%M}" for s in v] for day, v in slots_by_day(slots, NEW_YORK).items()
    }

    assert list(by_day) == [date(2026, 2, day) for day in (9, 11, 12, 13, 14)]
    assert by_day[date(2026, 2, 11)] == ["13:00", "13:30"]
    assert by_day[date(2026, 2, 14)] == ["10:00", "10:30", "11:00", "11:30"]
    assert len(by_day[date(2026, 2, 9)]) == 16


def test_increments_restart_at_each_range_and_need_not_divide_it():
    tuesday = date(2026, 2, 10)
    rules = page(
        NEW_YORK,
        weekly={TUESDAY: hours("13:10-14:00", "09:00-10:00")},
        duration=minutes(20),
        increment=minutes(25),
    )
    assert starts(slots_between(rules, tuesday), NEW_YORK) == ["09:00", "09:25", "13:10", "13:35"]

    longer = page(
        NEW_YORK,
        weekly={TUESDAY: hours("09:00-10:10")},
        duration=minutes(20),
        increment=minutes(25),
    )
    assert starts(slots_between(longer, tuesday), NEW_YORK) == ["09:00", "09:25", "09:50"]


def test_touching_ranges_and_ranges_to_midnight():
    tuesday = date(2026, 2, 10)
    rules = page(
        NEW_YORK,
        weekly={TUESDAY: hours("22:00-24:00", "09:00-10:00", "10:00-11:00")},
        duration=minutes(60),
        increment=minutes(60),
    )
    assert shown(slots_between(rules, tuesday), NEW_YORK) == [
        "09:00-0500 to 10:00-0500",
        "10:00-0500 to 11:00-0500",
        "22:00-0500 to 23:00-0500",
        "23:00-0500 to 00:00-0500",
    ]
    short = page(NEW_YORK, weekly={TUESDAY: hours("23:30-24:00")}, duration=minutes(60))
    assert slots_between(short, tuesday) == []


@pytest.mark.parametrize(
    ("duration", "expected"),
    [
        (30, ["10:00", "10:30", "11:00", "11:30"]),
        # An hour from 11:30 runs into the meeting at 12:10, after the window's end.
        (60, ["10:00", "10:30", "11:00"]),
    ],
)
def test_only_starts_inside_the_window_are_returned(duration, expected):
    tuesday = date(2026, 2, 10)
    meeting = Interval(at(NEW_YORK, tuesday, "12:10"), at(NEW_YORK, tuesday, "12:20"))
    slots = available_slots(
        rules=page(NEW_YORK, duration=minutes(duration)),
        busy=[meeting],
        bookings=[],
        start=at(NEW_YORK, tuesday, "10:00"),
        end=at(NEW_YORK, tuesday, "12:00"),
        now=at(NEW_YORK, tuesday, "08:00"),
    )
    assert starts(slots, NEW_YORK) == expected


# --- busy time, bookings and buffers -----------------------------------------------------


def test_busy_time_and_bookings_without_buffers_may_touch_a_slot():
    tuesday = date(2026, 2, 10)
    rules = page(NEW_YORK, weekly={TUESDAY: hours("09:00-13:00")})
    meeting = Interval(at(NEW_YORK, tuesday, "10:00"), at(NEW_YORK, tuesday, "11:00"))
    booking = Interval(at(NEW_YORK, tuesday, "11:30"), at(NEW_YORK, tuesday, "12:00"))

    slots = slots_between(rules, tuesday, busy=[meeting], bookings=[booking])
    assert starts(slots, NEW_YORK) == ["09:00", "09:30", "11:00", "12:00", "12:30"]


@pytest.mark.parametrize(("before", "after"), [(15, 30), (30, 15)])
def test_buffers_around_a_booking_use_the_larger_buffer_on_both_sides(before, after):
    tuesday = date(2026, 2, 10)
    rules = page(
        NEW_YORK,
        weekly={TUESDAY: hours("09:00-13:00")},
        increment=minutes(15),
        buffer_before=minutes(before),
        buffer_after=minutes(after),
    )
    booking = Interval(at(NEW_YORK, tuesday, "10:00"), at(NEW_YORK, tuesday, "11:00"))

    slots = slots_between(rules, tuesday, bookings=[booking])
    # Either the slot's buffer or the booking's keeps 30 minutes between them, both ways.
    assert starts(slots, NEW_YORK) == ["09:00", "11:30", "11:45", "12:00", "12:15", "12:30"]


def test_buffers_around_busy_time_pad_only_the_slot():
    tuesday = date(2026, 2, 10)
    rules = page(
        NEW_YORK,
        weekly={TUESDAY: hours("09:00-13:00")},
        increment=minutes(15),
        buffer_before=minutes(15),
        buffer_after=minutes(30),
    )
    meeting = Interval(at(NEW_YORK, tuesday, "10:00"), at(NEW_YORK, tuesday, "11:00"))

    slots = slots_between(rules, tuesday, busy=[meeting])
    # A slot needs 30 minutes free after it and 15 before it.
    expected = ["09:00", "11:15", "11:30", "11:45", "12:00", "12:15", "12:30"]
    assert starts(slots, NEW_YORK) == expected


def test_busy_time_given_in_another_zone_respects_its_fold():
    # The second 01:00-02:00 in New York on 2 November 2025 is 06:00-07:00 UTC.
    day = date(2025, 11, 2)
    rules = page(
        LONDON,
        weekly={SUNDAY: hours("00:00-12:00")},
        duration=minutes(60),
        increment=minutes(60),
    )
    second_hour = Interval(at(NEW_YORK, day, "01:00", fold=1), at(NEW_YORK, day, "02:00"))

    slots = slots_between(rules, day, busy=[second_hour])
    assert starts(slots, "UTC") == [f"{h:02d}:00" for h in range(12) if h != 6]


def test_overlapping_and_unsorted_busy_intervals():
    tuesday = date(2026, 2, 10)
    rules = page(NEW_YORK, weekly={TUESDAY: hours("09:00-13:00")})
    busy = [
        Interval(at(NEW_YORK, tuesday, "11:00"), at(NEW_YORK, tuesday, "11:10")),
        Interval(at(NEW_YORK, tuesday, "09:20"), at(NEW_YORK, tuesday, "10:00")),
        Interval(at(NEW_YORK, tuesday, "09:00"), at(NEW_YORK, tuesday, "12:00")),
        Interval(at(NEW_YORK, tuesday, "09:40"), at(NEW_YORK, tuesday, "09:50")),
    ]
    assert starts(slots_between(rules, tuesday, busy=busy), NEW_YORK) == ["12:00", "12:30"]


# --- notice, horizon and daily cap -------------------------------------------------------


def test_minimum_notice():
    tuesday = date(2026, 2, 10)
    rules = page(NEW_YORK, minimum_notice=timedelta(hours=2))
    now = at(NEW_YORK, tuesday, "10:07")

    slots = slots_between(rules, tuesday, tuesday + timedelta(days=1), now=now)
    by_day = slots_by_day(slots, NEW_YORK)
    assert [f"{s.start:%H:%M}" for s in by_day[tuesday]][:2] == ["12:30", "13:00"]
    assert len(by_day[tuesday]) == 9
    assert len(by_day[tuesday + timedelta(days=1)]) == 16


@pytest.mark.parametrize(
    ("horizon_days", "open_days"),
    [(0, []), (1, [10]), (3, [10, 11, 12]), (60, [10, 11, 12, 13])],
)
def test_horizon_counts_days_in_the_page_zone(horizon_days, open_days):
    monday = date(2026, 2, 9)
    rules = page(NEW_YORK, horizon_days=horizon_days)
    now = at(NEW_YORK, monday, "20:00")  # already Tuesday in UTC; the page's date counts
    slots = slots_between(rules, monday, monday + timedelta(days=4), now=now)
    assert days_with_slots(slots, NEW_YORK) == [date(2026, 2, day) for day in open_days]


def test_daily_cap_counts_bookings_by_their_page_zone_date():
    monday, tuesday = date(2026, 2, 9), date(2026, 2, 10)
    rules = page(NEW_YORK, max_per_day=2)
    bookings = [
        Interval(at(NEW_YORK, monday, "09:00"), at(NEW_YORK, monday, "09:30")),
        # 03:00 UTC on Tuesday is 22:00 on Monday in New York: Monday is full.
        Interval(datetime(2026, 2, 10, 3, tzinfo=UTC), datetime(2026, 2, 10, 3, 30, tzinfo=UTC)),
        Interval(at(NEW_YORK, tuesday, "09:00"), at(NEW_YORK, tuesday, "09:30")),
    ]
    slots = slots_between(rules, monday, monday + timedelta(days=2), bookings=bookings)
    by_day = slots_by_day(slots, NEW_YORK)

    assert list(by_day) == [date(2026, 2, 10), date(2026, 2, 11)]
    assert [f"{s.start:%H:%M}" for s in by_day[date(2026, 2, 10)]][:2] == ["09:30", "10:00"]
    assert len(by_day[date(2026, 2, 11)]) == 16


def test_nothing_when_notice_reaches_past_the_window():
    tuesday = date(2026, 2, 10)
    rules = page(NEW_YORK, minimum_notice=timedelta(days=3))
    assert slots_between(rules, tuesday, now=at(NEW_YORK, tuesday, "08:00")) == []


# --- validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "Unknown time zone: 'Mars/Olympus_Mons'."),
        ({"time_zone": "../etc/passwd"}, "Unknown time zone: '../etc/passwd'."),
        ({"time_zone": ""}, "Choose a time zone."),
        (
            {"weekly_hours": {MONDAY: hours("09:00-12:00", "11:00-13:00")}},
            "Monday: 09:00-12:00 overlaps 11:00-13:00.",
        ),
        (
            {"weekly_hours": {SUNDAY: hours("23:00-24:00", "22:00-24:00")}},
            "Sunday: 22:00-24:00 overlaps 23:00-24:00.",
        ),
        (
            {"weekly_hours": {WEDNESDAY: hours("17:00-09:00")}},
            "Wednesday: 17:00-09:00 ends before it starts.",
        ),
        ({"weekly_hours": {FRIDAY: hours("09:00-09:00")}}, "Friday: 09:00-09:00 is empty."),
        ({"weekly_hours": {7: hours("09:00-17:00")}}, "Unknown weekday 7: use 0 (Monday) to 6"),
        ({"weekly_hours": {MONDAY: [(time(9),)]}}, "Monday: each range must be a (start, end)"),
        (
            {"weekly_hours": {MONDAY: [(time(9, tzinfo=UTC), time(17))]}},
            "Monday: hours are wall-clock times without a time zone.",
        ),
        (
            {"date_overrides": {date(2026, 3, 1): hours("09:00-12:00", "10:00-11:00")}},
            "2026-03-01: 09:00-12:00 overlaps 10:00-11:00.",
        ),
        ({"duration": timedelta(0)}, "The duration must be longer than zero."),
        ({"duration": minutes(-30)}, "The duration cannot be negative."),
        (
            {"increment": timedelta(0)},
            "The increment between start times must be at least 1 minute.",
        ),
        ({"buffer_before": minutes(-5)}, "The buffer before cannot be negative."),
        ({"buffer_after": minutes(-5)}, "The buffer after cannot be negative."),
        ({"minimum_notice": minutes(-1)}, "The minimum notice cannot be negative."),
        ({"minimum_notice": 30}, "The minimum notice must be a length of time."),
        ({"horizon_days": -1}, "The booking horizon must be a whole number of days, 0 or more."),
        ({"max_per_day": 0}, "The daily limit must be at least 1 booking, or empty for no limit."),
    ],
)
def test_impossible_rules_are_refused_with_a_clear_message(options, message):
    arguments = {"time_zone": LONDON, "weekly_hours": {MONDAY: hours("09:00-17:00")}} | options
    with pytest.raises(ValueError) as refused:  # noqa: PT011 - the message is checked below
        Rules(**arguments)
    assert str(refused.value).startswith(message)


def test_rules_keep_sorted_read_only_hours():
    rules = page(LONDON, weekly={MONDAY: hours("13:00-17:00", "09:00-12:00")})
    assert rules.weekly_hours[MONDAY] == ((hm("09:00"), hm("12:00")), (hm("13:00"), hm("17:00")))
    with pytest.raises(TypeError):
        rules.weekly_hours[TUESDAY] = ()  # type: ignore[index]


def test_intervals_and_windows_must_be_aware_and_forward():
    aware = datetime(2026, 2, 10, 9, tzinfo=UTC)
    with pytest.raises(ValueError, match="start must be timezone-aware"):
        Interval(aware.replace(tzinfo=None), aware)
    with pytest.raises(ValueError, match="must end after it starts"):
        Interval(aware, aware)
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        available_slots(
            rules=page(LONDON),
            busy=[],
            bookings=[],
            start=aware,
            end=aware + timedelta(days=1),
            now=aware.replace(tzinfo=None),
        )
    with pytest.raises(ValueError, match="Unknown time zone"):
        days_with_slots([], "Nowhere/Special")


def test_an_interval_across_a_fall_back_is_not_reversed():
    # 01:30 EDT comes before 01:15 EST, although a naive comparison says otherwise.
    day = date(2025, 11, 2)
    interval = Interval(at(NEW_YORK, day, "01:30"), at(NEW_YORK, day, "01:15", fold=1))
    assert interval.end.astimezone(UTC) - interval.start.astimezone(UTC) == minutes(45)


def test_the_engine_uses_the_standard_library_only():
    """No Django, no ORM, no I/O libraries: the engine stays a pure function of its inputs."""
    tree = ast.parse(Path(booking.slots.__file__).read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    top_level = {name.split(".")[0] for name in imported}
    assert top_level <= set(sys.stdlib_module_names) | {"__future__"}
    assert {"datetime", "zoneinfo"} <= top_level
