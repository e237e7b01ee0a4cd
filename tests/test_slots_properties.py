"""Property tests of the slot engine over random rules, zones, busy time and bookings.

* Every slot the engine returns obeys each rule of the contract, checked one
  rule at a time straight from its definition.
* A slow, obviously-correct reference written here (its own gap detection,
  a minute-by-minute search for range bounds in a gap, every busy interval and
  booking checked against every candidate, no merging, no sweep) returns
  exactly the same slots, for random pages and for pages open only around a
  clock change.
* Splitting the window in two splits the slots in two.

Windows are drawn around real offset changes of DST-heavy zones (half-hour
shifts, midnight transitions, a skipped day, a fall-back into the previous
date) as well as at random."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from booking.slots import Interval, Rules, available_slots

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

ZONES = (
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",  # 30-minute DST
    "Pacific/Chatham",  # +12:45 / +13:45
    "Asia/Kolkata",  # +05:30, no DST
    "America/Sao_Paulo",  # DST until 2019, transitions at midnight
    "Pacific/Apia",  # skipped 2011-12-30 entirely
    "America/Havana",  # transitions at 00:00 / 01:00
    "Asia/Beirut",  # falls back from midnight into the previous day
    "Africa/Casablanca",  # several transitions a year
    "Antarctica/Casey",  # 2010: 02:00 back to 23:00 of the day before
    "UTC",
)
VIEW_ZONES = ("UTC", "Asia/Kolkata", "Pacific/Chatham", "America/New_York")
FIRST_YEAR, LAST_YEAR = 2008, 2030

PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass(frozen=True)
class Scenario:
    rules: Rules
    busy: tuple[Interval, ...]
    bookings: tuple[Interval, ...]
    start: datetime
    end: datetime
    now: datetime

    def slots(self) -> list[Interval]:
        return available_slots(
            rules=self.rules,
            busy=self.busy,
            bookings=self.bookings,
            start=self.start,
            end=self.end,
            now=self.now,
        )


# --- strategies --------------------------------------------------------------------------


@dataclass(frozen=True)
class OffsetChange:
    day: date  # the local date just after the change
    marks: tuple[int, ...]  # minutes of that day near the wall times around the change


@functools.cache
def offset_changes(zone_name: str) -> tuple[OffsetChange, ...]:
    """Every change of ``zone_name``'s UTC offset in the tested years (all on 15-minute marks)."""
    zone = ZoneInfo(zone_name)
    found = []
    moment = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
    previous = moment.astimezone(zone).utcoffset()
    while moment.year <= LAST_YEAR:
        if (moment + DAY).astimezone(zone).utcoffset() != previous:
            while moment.astimezone(zone).utcoffset() == previous:
                moment += 15 * MINUTE
            found.append(change_at(zone, moment))
            previous = moment.astimezone(zone).utcoffset()
        moment += DAY
    return tuple(found)


def change_at(zone: ZoneInfo, moment: datetime) -> OffsetChange:
    after = local_wall(moment, zone)
    before = local_wall(moment - 15 * MINUTE, zone) + 15 * MINUTE
    midnight = datetime.combine(after.date(), time(0))
    marks = set()
    for wall in (before, after):
        around = (wall - midnight) // MINUTE
        marks.update(mark for mark in range(around - 90, around + 91, 15) if 0 <= mark <= 1440)
    return OffsetChange(after.date(), tuple(sorted(marks)))


def wall_time(minutes: int) -> time:
    return time(0, 0) if minutes == 1440 else time(minutes // 60, minutes % 60)


NIGHT_MARKS = (*range(0, 6 * 60 + 1, 15), *range(21 * 60, 1440 + 1, 15))


@st.composite
def day_ranges(draw, *, near: Sequence[int] = ()) -> list[tuple[time, time]]:
    """Non-overlapping wall ranges of one day, sometimes touching, sometimes to midnight.

    With ``near``, range ends are drawn from those minutes of the day.
    """
    if near:
        marks_from = st.sampled_from(near)
    else:
        step = draw(st.sampled_from([5, 15, 15, 30, 60]))
        marks_from = st.integers(0, 1440 // step).map(lambda mark: mark * step)
    size = draw(st.sampled_from([0, 2, 2, 3, 4, 5, 6]))
    marks = sorted(draw(st.lists(marks_from, min_size=size, max_size=size, unique=True)))
    mostly_open = st.sampled_from([True, True, True, False])
    chosen = draw(st.lists(mostly_open, min_size=len(marks), max_size=len(marks)))
    return [
        (wall_time(marks[i]), wall_time(marks[i + 1])) for i in range(len(marks) - 1) if chosen[i]
    ]


def minutes(values: Sequence[int] | st.SearchStrategy[int]) -> st.SearchStrategy[timedelta]:
    source = values if isinstance(values, st.SearchStrategy) else st.sampled_from(values)
    return source.map(lambda value: value * MINUTE)


@st.composite
def intervals(draw, anchor: datetime, *, max_size: int) -> tuple[Interval, ...]:
    """Busy times or bookings near ``anchor``, expressed in assorted zones."""
    found = []
    for _ in range(draw(st.integers(0, max_size))):
        begin = anchor + draw(st.integers(-288, 1152)) * 5 * MINUTE
        length = (
            draw(st.integers(1, 60)) * 5 * MINUTE + draw(st.sampled_from([0, 0, 0, 1])) * MINUTE
        )
        shown_in = ZoneInfo(draw(st.sampled_from(VIEW_ZONES)))
        found.append(Interval(begin.astimezone(shown_in), (begin + length).astimezone(shown_in)))
    return tuple(found)


@st.composite
def scenarios(draw) -> Scenario:
    zone_name = draw(st.sampled_from(ZONES))
    changes = offset_changes(zone_name)
    if changes and draw(st.sampled_from([True, True, True, False])):
        change = draw(st.sampled_from(changes))
        anchor_day, near = change.day, change.marks
    else:
        anchor_day = draw(st.dates(date(FIRST_YEAR, 1, 3), date(LAST_YEAR, 12, 28)))
        near = NIGHT_MARKS
    overrides = {
        anchor_day + offset * DAY: draw(day_ranges())
        for offset in draw(st.lists(st.integers(-2, 4), max_size=3, unique=True))
    }
    for day in (anchor_day - DAY, anchor_day, anchor_day + DAY):
        if draw(st.booleans()):
            overrides[day] = draw(day_ranges(near=near))
    rules = Rules(
        time_zone=zone_name,
        weekly_hours={weekday: draw(day_ranges()) for weekday in range(7)},
        date_overrides=overrides,
        duration=draw(
            minutes([5, 15, 20, 30, 45, 60, 90, 120, 240]) | minutes(st.integers(1, 300))
        ),
        increment=draw(minutes([5, 10, 15, 30, 60, 7, 25, 45, 90]) | minutes(st.integers(1, 240))),
        buffer_before=draw(minutes([0, 0, 5, 10, 15, 30, 60, 90])),
        buffer_after=draw(minutes([0, 0, 5, 10, 15, 30, 60, 90])),
        minimum_notice=draw(minutes([0, 0, 0, 30, 60, 240, 1440])),
        horizon_days=draw(st.integers(0, 8)),
        max_per_day=draw(st.none() | st.integers(1, 3)),
    )
    midnight = datetime.combine(anchor_day, time(0), tzinfo=ZoneInfo(zone_name))
    start = utc(midnight) + draw(st.integers(-144, 144)) * 5 * MINUTE
    end = start + draw(st.sampled_from([6, 24, 48, 72, 96]) | st.integers(1, 96)) * HOUR
    end += draw(st.integers(-11, 11)) * 5 * MINUTE
    now = start + draw(st.integers(-864, 0) | st.integers(-2, 288)) * 5 * MINUTE
    viewer = ZoneInfo(draw(st.sampled_from(VIEW_ZONES)))
    return Scenario(
        rules=rules,
        busy=draw(intervals(start, max_size=8)),
        bookings=draw(intervals(start, max_size=6)),
        start=start.astimezone(viewer),
        end=end.astimezone(viewer),
        now=now.astimezone(viewer),
    )


@st.composite
def nights_of_change(draw) -> Scenario:
    """Hours only around a clock change, nothing booked: every candidate there is tested."""
    zone_name = draw(st.sampled_from([zone for zone in ZONES if offset_changes(zone)]))
    change = draw(st.sampled_from(offset_changes(zone_name)))
    rules = Rules(
        time_zone=zone_name,
        weekly_hours={},
        date_overrides={
            change.day + offset * DAY: draw(day_ranges(near=change.marks)) for offset in (-1, 0, 1)
        },
        duration=draw(minutes([15, 30, 45, 60, 90, 120])),
        increment=draw(minutes([15, 30, 45, 60])),
        horizon_days=10,
    )
    midnight = utc(datetime.combine(change.day, time(0), tzinfo=ZoneInfo(zone_name)))
    start = midnight - draw(st.integers(0, 2)) * DAY
    return Scenario(
        rules=rules,
        busy=(),
        bookings=(),
        start=start,
        end=start + 4 * DAY,
        now=start - DAY,
    )


# --- the reference -----------------------------------------------------------------------


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return utc(a_start) < utc(b_end) and utc(b_start) < utc(a_end)


def in_gap(zone: ZoneInfo, wall: datetime) -> bool:
    """A wall time is skipped when the offset after the jump exceeds the offset before it."""
    before = wall.replace(tzinfo=zone, fold=0).utcoffset()
    after = wall.replace(tzinfo=zone, fold=1).utcoffset()
    return before < after


def local_wall(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def first_instant_at_or_after(zone: ZoneInfo, wall: datetime) -> datetime:
    """The first instant (to the minute) whose wall clock shows ``wall`` or later."""
    if not in_gap(zone, wall):
        return utc(wall.replace(tzinfo=zone, fold=0))
    moment = wall.replace(tzinfo=UTC) - 15 * HOUR  # no zone is 15 hours ahead of UTC
    while local_wall(moment, zone) < wall:
        moment += MINUTE
    return moment


def range_walls(day: date, wall_range: tuple[time, time]) -> tuple[datetime, datetime]:
    first, last = wall_range
    end_day = day + DAY if last == time(0, 0) else day
    return datetime.combine(day, first), datetime.combine(end_day, last)


def ranges_of(rules: Rules, day: date) -> Sequence[tuple[time, time]]:
    if day in rules.date_overrides:
        return rules.date_overrides[day]
    return rules.weekly_hours.get(day.weekday(), ())


def conflicts(rules: Rules, begin: datetime, finish: datetime, scenario: Scenario) -> bool:
    before, after = rules.buffer_before, rules.buffer_after
    padded = (begin - before, finish + after)
    for event in scenario.busy:
        if overlaps(*padded, event.start, event.end):
            return True
    for booking in scenario.bookings:
        if overlaps(*padded, booking.start, booking.end):
            return True
        # In UTC: arithmetic on a zone-aware time drops its fold, so a booking in the
        # second pass of a repeated hour would slide back into the first one.
        if overlaps(begin, finish, utc(booking.start) - before, utc(booking.end) + after):
            return True
    return False


def reference_slots(scenario: Scenario) -> list[tuple[datetime, datetime]]:
    """Every rule applied literally to every candidate; slow and plain."""
    rules = scenario.rules
    zone = ZoneInfo(rules.time_zone)
    start, end, now = utc(scenario.start), utc(scenario.end), utc(scenario.now)
    last_bookable_day = now.astimezone(zone).date() + rules.horizon_days * DAY
    found = []
    day = start.astimezone(zone).date() - 2 * DAY
    while day <= end.astimezone(zone).date() + 2 * DAY:
        starting_today = [b for b in scenario.bookings if b.start.astimezone(zone).date() == day]
        day_is_full = rules.max_per_day is not None and len(starting_today) >= rules.max_per_day
        for wall_range in ranges_of(rules, day):
            first, last = range_walls(day, wall_range)
            opens = first_instant_at_or_after(zone, first)
            closes = first_instant_at_or_after(zone, last)
            wall = first
            while wall < last:
                candidate, wall = wall, wall + rules.increment
                if in_gap(zone, candidate):
                    continue
                begin = utc(candidate.replace(tzinfo=zone, fold=0))
                finish = begin + rules.duration
                if not (opens <= begin and finish <= closes):
                    continue
                if not (start <= begin < end):
                    continue
                if begin < now + rules.minimum_notice or day > last_bookable_day or day_is_full:
                    continue
                if conflicts(rules, begin, finish, scenario):
                    continue
                found.append((begin, finish))
        day += DAY
    return sorted(found)


# --- the properties ----------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(scenarios())
def test_engine_agrees_with_the_reference(scenario):
    got = [(slot.start, slot.end) for slot in scenario.slots()]
    assert got == reference_slots(scenario)


@PROPERTY_SETTINGS
@given(nights_of_change())
def test_engine_agrees_with_the_reference_around_clock_changes(scenario):
    got = [(slot.start, slot.end) for slot in scenario.slots()]
    assert got == reference_slots(scenario)


@PROPERTY_SETTINGS
@given(scenarios())
def test_every_slot_obeys_every_rule(scenario):
    rules = scenario.rules
    zone = ZoneInfo(rules.time_zone)
    slots = scenario.slots()

    starts = [slot.start for slot in slots]
    assert starts == sorted(starts)
    assert len(set(starts)) == len(starts)
    today = scenario.now.astimezone(zone).date()
    for slot in slots:
        assert slot.start.tzinfo is UTC
        assert slot.end.tzinfo is UTC
        assert slot.end - slot.start == rules.duration
        assert utc(scenario.start) <= slot.start < utc(scenario.end)
        # busy time and bookings, with buffers
        assert not conflicts(rules, slot.start, slot.end, scenario)
        # minimum notice, horizon, daily cap
        assert slot.start >= utc(scenario.now) + rules.minimum_notice
        local = slot.start.astimezone(zone)
        assert local.date() <= today + rules.horizon_days * DAY
        if rules.max_per_day is not None:
            same_day = [
                b for b in scenario.bookings if b.start.astimezone(zone).date() == local.date()
            ]
            assert len(same_day) < rules.max_per_day
        # first occurrence of an existing wall time: never in a gap, never the repeat
        assert local.fold == 0
        assert not in_gap(zone, local.replace(tzinfo=None))
        assert_inside_an_aligned_range(rules, zone, slot)


def assert_inside_an_aligned_range(rules: Rules, zone: ZoneInfo, slot: Interval) -> None:
    wall = local_wall(slot.start, zone)
    day = wall.date()
    for wall_range in ranges_of(rules, day):
        first, last = range_walls(day, wall_range)
        if not first <= wall < last:
            continue
        assert (wall - first) % rules.increment == timedelta(0), "start is off the increment grid"
        assert first_instant_at_or_after(zone, first) <= slot.start
        assert slot.end <= first_instant_at_or_after(zone, last), "slot runs past its range"
        return
    raise AssertionError(f"{wall} is outside the working hours of {day}")


@PROPERTY_SETTINGS
@given(scenarios(), st.integers(0, 1000))
def test_splitting_the_window_splits_the_slots(scenario, cut_per_mille):
    start, end = utc(scenario.start), utc(scenario.end)
    cut = start + (end - start) * cut_per_mille / 1000
    halves = [
        available_slots(
            rules=scenario.rules,
            busy=scenario.busy,
            bookings=scenario.bookings,
            start=lower,
            end=upper,
            now=scenario.now,
        )
        for lower, upper in ((start, cut), (cut, end))
    ]
    assert halves[0] + halves[1] == scenario.slots()
