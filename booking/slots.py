"""The slot engine: which start times a booking page offers. Pure functions, no I/O.

This module uses the standard library only (no Django, no database), so it can
be tested exhaustively and called from anywhere: the public page's JSON API,
the booking service that re-checks a slot before writing, and the benchmarks.

Semantics (the contract the rest of ScheduleOnce relies on)
-----------------------------------------------------------

**Time.** All absolute reasoning happens in UTC. Inputs may be aware datetimes
in any zone (their ``fold`` is respected); every returned datetime is in UTC
and the caller converts it to the invitee's zone. Intervals are half-open
``[start, end)``: touching ends do not overlap.

**Working hours are wall-clock times in the page's zone** (``Rules.time_zone``),
so a daylight-saving change moves nothing the host sees: 09:00-17:00 stays
09:00-17:00 on the clock on both sides of a change. For a page-zone local date
``D`` the ranges are ``date_overrides[D]`` if ``D`` has an override (an empty
override closes the day), else ``weekly_hours[D.weekday()]`` (0 = Monday).
A range ``(a, b)`` needs ``b > a``, except ``b == time(0, 0)``, which means the
midnight that ends ``D``; ``(time(0, 0), time(0, 0))`` is the whole day.

**Resolving wall times to instants.** A wall time on ``D`` that exists once is
that instant. One that occurs twice (the repeated hour when clocks go back) is
its *first* occurrence (``fold=0``). One that does not exist (the hour skipped
when clocks go forward) is handled as follows:

* a *candidate start* there is skipped — no slot is ever offered in a
  non-existent local time, and none twice in a repeated one;
* a *range bound* there (start or end) resolves to the instant of the
  transition, i.e. the first instant after the gap. A range 01:00-02:30 on a
  day whose clocks jump 02:00 -> 03:00 therefore ends at 03:00 on the clock,
  one hour after it started; a range 02:15-02:45 inside the gap is empty.

**Candidates.** Within a range, candidate starts are the wall times
``a + k * increment`` (k = 0, 1, ...) that are earlier than ``b`` on the
clock; alignment restarts at each range's own start. A candidate ``s`` gives
the slot ``[s, s + duration)`` in absolute time, which must lie inside the
range's absolute extent ``[resolve(a), resolve(b)]``. So a range crossing a
spring-forward gap is shorter in absolute time than on the clock, and one
crossing a fall-back is longer: 01:00-02:00 on the day New York repeats
01:00-02:00 runs from the first 01:00 to the only 02:00, two hours, yet offers
01:00, 01:15, ... once each, all in the first pass.

**Conflicts.** With ``bb = buffer_before`` and ``ba = buffer_after``, a slot
``[s, e)`` is offered only if

* the padded slot ``[s - bb, e + ba)`` overlaps no busy interval and no
  booking, and
* the slot itself overlaps no booking padded to ``[b.start - bb, b.end + ba)``.

Buffers may overlap each other but never an event, so the gap between a
booking and the next slot is ``max(ba, bb)`` on either side.

**Limits.**

* Minimum notice: ``s >= now + minimum_notice``.
* Horizon: the page-zone date of ``s`` is at most the page-zone date of
  ``now`` plus ``horizon_days`` (0 = today only).
* Daily cap: on a page-zone date on which at least ``max_per_day`` of the
  given bookings start, no slot is offered. The cap counts exactly the
  bookings passed in.
* Window: only slots whose start lies in ``[start, end)`` are returned.

The result is sorted by start, without duplicates.

**Cost.** Busy intervals and bookings are padded, sorted once and merged into
disjoint blocked intervals; candidates are generated in increasing time order
and swept against the blocks with a single moving pointer. That is
O(B log B) for the sort plus O(B + S) for the sweep (B busy intervals and
bookings, S candidates) — never slots x busy. ``bench/slots.py`` measures it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "Interval",
    "MemberTime",
    "Rules",
    "TeamSlot",
    "WallRange",
    "WorkingHours",
    "available_slots",
    "days_with_slots",
    "load_zone",
    "slots_by_day",
]

MIDNIGHT = time(0, 0)
ONE_DAY = timedelta(days=1)
MIN_INCREMENT = timedelta(minutes=1)
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

WallRange = tuple[time, time]
"""``(start, end)`` wall-clock times in the page's zone; ``end == time(0, 0)`` is midnight
at the end of the day."""


@dataclass(frozen=True)
class Interval:
    """A half-open span ``[start, end)`` of absolute time; both ends timezone-aware.

    Compare or subtract the ends of intervals in UTC (``available_slots`` returns
    UTC): Python compares two datetimes that share a ``ZoneInfo`` by wall clock,
    which is wrong across a fall-back hour.
    """

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            _require_aware(name, getattr(self, name))
        if self.end.astimezone(UTC) <= self.start.astimezone(UTC):
            raise ValueError(f"An interval must end after it starts ({self.start}, {self.end}).")

    @classmethod
    def trusted(cls, start: datetime, end: datetime) -> Interval:
        """An interval from ends the caller already knows are aware and in order (rows read
        back from the database, slots this module made), without checking them again:
        checking is most of the cost of making thousands of intervals."""
        interval = object.__new__(cls)
        object.__setattr__(interval, "start", start)
        object.__setattr__(interval, "end", end)
        return interval


@dataclass(frozen=True)
class Rules:
    """A booking page's availability rules. Validated on creation.

    Raises ``ValueError`` with a message fit for a form when the rules are
    impossible: unknown time zone, reversed, empty or overlapping ranges,
    non-positive duration, an increment under one minute, negative buffers,
    notice or horizon, or a daily cap below one. The mappings are stored as
    read-only mappings of tuples, each day's ranges sorted by start.
    """

    time_zone: str
    weekly_hours: Mapping[int, Sequence[WallRange]]
    date_overrides: Mapping[date, Sequence[WallRange]] = field(default_factory=dict)
    duration: timedelta = timedelta(minutes=30)
    increment: timedelta = timedelta(minutes=30)
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    minimum_notice: timedelta = timedelta(0)
    horizon_days: int = 60
    max_per_day: int | None = None
    # Set by ``whole_days``: members' own hours bound the slots, so a candidate of the
    # page's ranges is not cut at the range's end (a slot may run past the page zone's
    # midnight into the next day when a member's hours do).
    members_bound: bool = False

    def __post_init__(self) -> None:
        load_zone(self.time_zone)
        object.__setattr__(self, "weekly_hours", _checked_weekly_hours(self.weekly_hours))
        object.__setattr__(self, "date_overrides", _checked_overrides(self.date_overrides))
        self._check_durations()
        if not _is_int(self.horizon_days) or self.horizon_days < 0:
            raise ValueError("The booking horizon must be a whole number of days, 0 or more.")
        if self.max_per_day is not None and (not _is_int(self.max_per_day) or self.max_per_day < 1):
            raise ValueError("The daily limit must be at least 1 booking, or empty for no limit.")

    def _check_durations(self) -> None:
        named = {
            "duration": "The duration",
            "increment": "The increment",
            "buffer_before": "The buffer before",
            "buffer_after": "The buffer after",
            "minimum_notice": "The minimum notice",
        }
        for attribute, label in named.items():
            value = getattr(self, attribute)
            if not isinstance(value, timedelta):
                raise ValueError(f"{label} must be a length of time.")
            if value < timedelta(0):
                raise ValueError(f"{label} cannot be negative.")
        if self.duration <= timedelta(0):
            raise ValueError("The duration must be longer than zero.")
        if self.increment < MIN_INCREMENT:
            raise ValueError("The increment between start times must be at least 1 minute.")

    def whole_days(self) -> Rules:
        """These rules with every weekday open all day (date overrides kept): a team page
        that uses its members' own hours leaves the hours to them."""
        return replace(
            self,
            weekly_hours={day: [(MIDNIGHT, MIDNIGHT)] for day in range(7)},
            members_bound=True,
        )

    def ranges_on(self, day: date) -> Sequence[WallRange]:
        """The wall-clock ranges of a page-zone date: its override, else its weekday's hours."""
        if day in self.date_overrides:
            return self.date_overrides[day]
        return self.weekly_hours.get(day.weekday(), ())


def available_slots(
    *,
    rules: Rules,
    busy: Iterable[Interval],
    bookings: Iterable[Interval],
    start: datetime,
    end: datetime,
    now: datetime,
) -> list[Interval]:
    """The slots of ``rules`` whose start lies in ``[start, end)``, sorted, in UTC.

    ``busy`` is time taken in the host's calendars, ``bookings`` the page's
    existing bookings (they get buffers and count towards the daily cap).
    ``start``, ``end`` and ``now`` must be timezone-aware (``ValueError``
    otherwise). See the module docstring for the exact semantics.
    """
    for name, value in (("start", start), ("end", end), ("now", now)):
        _require_aware(name, value)
    zone = load_zone(rules.time_zone)
    start, end, now = start.astimezone(UTC), end.astimezone(UTC), now.astimezone(UTC)
    lower = max(start, now + rules.minimum_notice)
    if lower >= end:
        return []
    bookings = list(bookings)
    # A fall-back across midnight (Antarctica/Casey, 2010-03-05 02:00 -> 03-04 23:00) can
    # put `end` on the date before a candidate that starts earlier; hence the extra day.
    first_day = lower.astimezone(zone).date()
    last_day = min(
        end.astimezone(zone).date() + ONE_DAY,
        now.astimezone(zone).date() + timedelta(days=rules.horizon_days),
    )
    full_days = _days_at_cap(bookings, zone, rules.max_per_day)
    blocked_starts, blocked_ends = _blocked(
        busy, bookings, rules, lower=lower, upper=end + rules.duration
    )
    slots: list[Interval] = []
    block, blocks = 0, len(blocked_starts)
    # Candidates well before ``lower`` are jumped over (one slot asked about late in a
    # long day: ``booking.selectors.slot_is_free``); those still before it are skipped.
    window = ([lower], [end + rules.duration])
    for slot_start, slot_end in _candidates(
        rules, zone, first_day, last_day, full_days, within=window
    ):
        if slot_start < lower:
            continue
        if slot_start >= end:
            break  # candidates come in increasing order
        while block < blocks and blocked_ends[block] <= slot_start:
            block += 1
        if block < blocks and blocked_starts[block] < slot_end:
            continue
        slots.append(Interval(slot_start, slot_end))
    return slots


@dataclass(frozen=True)
class WorkingHours:
    """A person's own weekly hours, wall-clock times in their own zone (the same
    ``weekly_hours`` mapping and checks as ``Rules``). Validated on creation."""

    time_zone: str
    weekly_hours: Mapping[int, Sequence[WallRange]]

    def __post_init__(self) -> None:
        load_zone(self.time_zone)
        object.__setattr__(self, "weekly_hours", _checked_weekly_hours(self.weekly_hours))

    def spans(self, start: datetime, end: datetime) -> tuple[list[datetime], list[datetime]]:
        """The working time that overlaps ``[start, end)``, in UTC, as parallel sorted
        start/end lists of disjoint spans (touching ranges merged). Wall times resolve as
        range bounds do in ``Rules`` (a bound in a gap is the transition)."""
        zone = load_zone(self.time_zone)
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        day, last = start.astimezone(zone).date() - ONE_DAY, end.astimezone(zone).date() + ONE_DAY
        starts: list[datetime] = []
        ends: list[datetime] = []
        while day <= last:
            for range_start, range_end in self.weekly_hours.get(day.weekday(), ()):
                first = _resolve_bound(zone, datetime.combine(day, range_start))
                stop_day = day + ONE_DAY if range_end == MIDNIGHT else day
                stop = _resolve_bound(zone, datetime.combine(stop_day, range_end))
                if stop <= first or stop <= start or first >= end:
                    continue
                if ends and first <= ends[-1]:
                    ends[-1] = max(ends[-1], stop)
                else:
                    starts.append(first)
                    ends.append(stop)
            day += ONE_DAY
        return starts, ends


@dataclass(frozen=True)
class MemberTime:
    """One member of a team page: ``busy`` is their calendars' busy time and their
    bookings elsewhere, ``bookings`` their bookings on this team page (padded by both
    buffers, as a page's own bookings are). ``hours``: the member's own working hours
    when the page uses them; a slot must then lie wholly inside them (None: the page's
    hours alone)."""

    busy: Sequence[Interval] = ()
    bookings: Sequence[Interval] = ()
    hours: WorkingHours | None = None


@dataclass(frozen=True)
class TeamSlot:
    """A team page's slot and the members free for it (in the order they were given)."""

    start: datetime
    end: datetime
    free: tuple = ()


def team_slots(
    *,
    rules: Rules,
    members: Mapping[object, MemberTime],
    page_bookings: Iterable[Interval],
    start: datetime,
    end: datetime,
    now: datetime,
    everyone: bool,
    name_free: bool = True,
) -> list[TeamSlot]:
    """The slots of a team page whose start lies in ``[start, end)``, sorted, in UTC.

    Each member is judged exactly as ``available_slots`` judges a host (same buffers,
    notice and horizon), on the page's ``rules``, and, if they have ``hours``, only
    inside their own working hours (the page's rules then usually open the whole day,
    ``Rules.whole_days``). A slot is offered when at least one
    member is free (round-robin) or, with ``everyone``, when all are (collective); an
    empty ``members`` offers nothing. ``page_bookings`` (every booking of the page,
    whoever got it) count towards the daily cap. ``name_free=False`` stops looking at
    the first free member (listing a round-robin page's slots needs no more; ``free``
    then holds that one). The candidates are made once and each
    member's blocked time is swept with its own pointer: O(S * M + B log B), so ten
    members cost little more than one (``bench/slots.py``).
    """
    for name, value in (("start", start), ("end", end), ("now", now)):
        _require_aware(name, value)
    if not members:
        return []
    zone = load_zone(rules.time_zone)
    start, end, now = start.astimezone(UTC), end.astimezone(UTC), now.astimezone(UTC)
    lower = max(start, now + rules.minimum_notice)
    if lower >= end:
        return []
    first_day = lower.astimezone(zone).date()
    last_day = min(
        end.astimezone(zone).date() + ONE_DAY,
        now.astimezone(zone).date() + timedelta(days=rules.horizon_days),
    )
    full_days = _days_at_cap(list(page_bookings), zone, rules.max_per_day)
    keys = list(members)
    blocks = [
        _blocked(member.busy, list(member.bookings), rules, lower=lower, upper=end + rules.duration)
        for member in members.values()
    ]
    hours = [
        None if member.hours is None else member.hours.spans(lower, end + rules.duration)
        for member in members.values()
    ]
    pointers = [0] * len(keys)
    hour_pointers = [0] * len(keys)
    # When every member has hours, a slot outside all of them is skipped before looking
    # at anyone (half the whole-day candidates of a members' hours page, typically).
    union = _union([spans for spans in hours if spans is not None]) if all(hours) else None
    union_at = 0
    slots: list[TeamSlot] = []
    for slot_start, slot_end in _candidates(
        rules, zone, first_day, last_day, full_days, within=union
    ):
        if slot_start < lower:
            continue
        if slot_start >= end:
            break
        if union is not None:
            union_starts, union_ends = union
            while union_at < len(union_ends) and union_ends[union_at] < slot_end:
                union_at += 1
            if union_at == len(union_ends) or union_starts[union_at] > slot_start:
                continue
        free = _free_for(
            slot_start, slot_end, blocks, pointers, everyone, name_free, hours, hour_pointers
        )
        if free:
            slots.append(TeamSlot(slot_start, slot_end, tuple(keys[index] for index in free)))
    return slots


def _union(
    spans: list[tuple[list[datetime], list[datetime]]],
) -> tuple[list[datetime], list[datetime]]:
    """The merged union of several members' sorted, disjoint spans."""
    pairs = sorted(pair for starts, ends in spans for pair in zip(starts, ends, strict=True))
    starts: list[datetime] = []
    ends: list[datetime] = []
    for span_start, span_end in pairs:
        if ends and span_start <= ends[-1]:
            ends[-1] = max(ends[-1], span_end)
        else:
            starts.append(span_start)
            ends.append(span_end)
    return starts, ends


def _free_for(
    slot_start: datetime,
    slot_end: datetime,
    blocks: list[tuple[list[datetime], list[datetime]]],
    pointers: list[int],
    everyone: bool,
    name_free: bool,
    hours: list[tuple[list[datetime], list[datetime]] | None],
    hour_pointers: list[int],
) -> list[int]:
    """The indexes of the members free for the slot (all or nothing with ``everyone``;
    just the first free one without ``name_free``). Each member's pointers only move
    forward, so a member not looked at for a while catches up later."""
    free: list[int] = []
    for index, (starts, ends) in enumerate(blocks):
        own = hours[index]
        if own is not None:
            # Slots all last as long, so their ends grow with their starts: a span that
            # ends before this slot ends can hold no later slot either.
            span, spans = hour_pointers[index], len(own[0])
            while span < spans and own[1][span] < slot_end:
                span += 1
            hour_pointers[index] = span
            if span == spans or own[0][span] > slot_start:
                if everyone:
                    return []
                continue
        block, count = pointers[index], len(starts)
        while block < count and ends[block] <= slot_start:
            block += 1
        pointers[index] = block
        if block < count and starts[block] < slot_end:
            if everyone:
                return []
            continue
        free.append(index)
        if not name_free and not everyone:
            break
    return free


def days_with_slots(slots: Iterable[Interval], time_zone: str) -> list[date]:
    """The dates in ``time_zone`` (the invitee's) on which at least one slot starts, sorted.

    This is what the public page's month view marks as bookable. ``ValueError``
    for an unknown zone.
    """
    return sorted(slots_by_day(slots, time_zone))


def slots_by_day(slots: Iterable[Interval], time_zone: str) -> dict[date, list[Interval]]:
    """Slots grouped by the date their start falls on in ``time_zone``, converted to that zone.

    Dates ascend and each date's slots are sorted by start. Useful for the
    public page's day list; ``ValueError`` for an unknown zone.
    """
    zone = load_zone(time_zone)
    grouped: dict[date, list[Interval]] = {}
    for slot in sorted(slots, key=lambda slot: slot.start.astimezone(UTC)):
        local = Interval(slot.start.astimezone(zone), slot.end.astimezone(zone))
        grouped.setdefault(local.start.date(), []).append(local)
    return dict(sorted(grouped.items()))


def load_zone(time_zone: str) -> ZoneInfo:
    """The ``ZoneInfo`` for an IANA name; ``ValueError`` with a clear message if unknown.

    Also the way to validate an invitee's ``tz`` parameter before converting slots.
    """
    if not isinstance(time_zone, str) or not time_zone:
        raise ValueError("Choose a time zone.")
    try:
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"Unknown time zone: {time_zone!r}.")


# --- candidates --------------------------------------------------------------------------


def _candidates(
    rules: Rules,
    zone: ZoneInfo,
    first_day: date,
    last_day: date,
    skip: set[date],
    within: tuple[list[datetime], list[datetime]] | None = None,
) -> Iterator[tuple[datetime, datetime]]:
    """Every candidate slot on page-zone dates ``first_day..last_day``, in increasing time.

    ``within`` (sorted disjoint spans, UTC): candidates far before the next span are
    jumped over (a few before it may still come: callers check the spans themselves)."""
    day = first_day
    at = [0]
    while day <= last_day:
        if day not in skip:
            for range_start, range_end in rules.ranges_on(day):
                yield from _range_candidates(
                    rules, zone, day, range_start, range_end, within=within, at=at
                )
        day += ONE_DAY


# A jump over wall-clock time by an absolute gap stays this far short of it, so no clock
# change inside the gap (at most two hours anywhere) can make it overshoot.
JUMP_MARGIN = timedelta(hours=3)


def _range_candidates(
    rules: Rules,
    zone: ZoneInfo,
    day: date,
    range_start: time,
    range_end: time,
    *,
    within: tuple[list[datetime], list[datetime]] | None = None,
    at: list[int] | None = None,
) -> Iterator[tuple[datetime, datetime]]:
    first = datetime.combine(day, range_start)
    stop = datetime.combine(day + ONE_DAY if range_end == MIDNIGHT else day, range_end)
    extent_end = _resolve_bound(zone, stop)
    wall = first
    while wall < stop:
        slot_start = _resolve_existing(zone, wall)
        if within is not None and slot_start is not None:
            starts, ends = within
            while at[0] < len(ends) and ends[at[0]] < slot_start + rules.duration:
                at[0] += 1
            if at[0] == len(ends):
                return
            gap = starts[at[0]] - slot_start - JUMP_MARGIN
            if gap >= rules.increment:
                wall += (gap // rules.increment) * rules.increment
                continue
        if slot_start is not None:
            slot_end = slot_start + rules.duration
            if slot_end > extent_end and not rules.members_bound:
                return  # later candidates end later still
            yield slot_start, slot_end
        wall += rules.increment


def _resolve_existing(zone: ZoneInfo, wall: datetime) -> datetime | None:
    """The UTC instant of a naive page-zone wall time (first occurrence), or None in a gap."""
    instant = wall.replace(tzinfo=zone).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != wall:
        return None
    return instant


def _resolve_bound(zone: ZoneInfo, wall: datetime) -> datetime:
    """Like ``_resolve_existing``, but a wall time in a gap becomes the transition instant."""
    instant = _resolve_existing(zone, wall)
    if instant is not None:
        return instant
    # In a gap, fold=1 uses the offset after the jump and lands before the transition;
    # fold=0 uses the offset before it and lands after. Bisect between them for the
    # first instant whose wall time is not earlier than `wall`: the transition.
    before = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    after = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    resolution = timedelta(microseconds=1)
    while after - before > resolution:
        middle = before + (after - before) / 2
        if middle.astimezone(zone).replace(tzinfo=None) >= wall:
            after = middle
        else:
            before = middle
    return after


# --- conflicts and limits ----------------------------------------------------------------


def _blocked(
    busy: Iterable[Interval],
    bookings: list[Interval],
    rules: Rules,
    *,
    lower: datetime,
    upper: datetime,
) -> tuple[list[datetime], list[datetime]]:
    """Disjoint, sorted spans in which no slot may overlap, as parallel start/end lists.

    Checking the bare slot against these spans is equivalent to the buffer
    rules: a busy interval ``[x, y)`` blocks ``[x - buffer_after, y + buffer_before)``
    and a booking blocks ``[x - m, y + m)`` with ``m = max(buffers)``. Spans that
    cannot touch a slot starting in ``[lower, upper - duration)`` are dropped before
    the sort.
    """
    lead, trail = rules.buffer_after, rules.buffer_before
    widest = max(rules.buffer_before, rules.buffer_after)
    spans = [(x.start.astimezone(UTC) - lead, x.end.astimezone(UTC) + trail) for x in busy]
    spans.extend(
        (booking.start.astimezone(UTC) - widest, booking.end.astimezone(UTC) + widest)
        for booking in bookings
    )
    spans = [span for span in spans if span[1] > lower and span[0] < upper]
    spans.sort()
    starts: list[datetime] = []
    ends: list[datetime] = []
    for span_start, span_end in spans:
        if ends and span_start <= ends[-1]:
            if span_end > ends[-1]:
                ends[-1] = span_end
        else:
            starts.append(span_start)
            ends.append(span_end)
    return starts, ends


def _days_at_cap(bookings: list[Interval], zone: ZoneInfo, max_per_day: int | None) -> set[date]:
    """Page-zone dates on which at least ``max_per_day`` of ``bookings`` start."""
    if max_per_day is None:
        return set()
    per_day = Counter(booking.start.astimezone(zone).date() for booking in bookings)
    return {day for day, count in per_day.items() if count >= max_per_day}


# --- validation --------------------------------------------------------------------------


def _require_aware(name: str, value: object) -> None:
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime.")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware.")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _checked_weekly_hours(weekly_hours: object) -> Mapping[int, tuple[WallRange, ...]]:
    if not isinstance(weekly_hours, Mapping):
        raise ValueError("Weekly hours must map weekdays (0 = Monday … 6 = Sunday) to ranges.")
    checked: dict[int, tuple[WallRange, ...]] = {}
    for weekday, ranges in weekly_hours.items():
        if not _is_int(weekday) or not 0 <= weekday <= 6:
            raise ValueError(f"Unknown weekday {weekday!r}: use 0 (Monday) to 6 (Sunday).")
        checked[weekday] = _checked_ranges(WEEKDAY_NAMES[weekday], ranges)
    return MappingProxyType(checked)


def _checked_overrides(overrides: object) -> Mapping[date, tuple[WallRange, ...]]:
    if not isinstance(overrides, Mapping):
        raise ValueError("Date overrides must map dates to ranges.")
    checked: dict[date, tuple[WallRange, ...]] = {}
    for day, ranges in overrides.items():
        if not isinstance(day, date) or isinstance(day, datetime):
            raise ValueError(f"Date override {day!r} must be a date.")
        checked[day] = _checked_ranges(day.isoformat(), ranges)
    return MappingProxyType(checked)


def _checked_ranges(label: str, ranges: object) -> tuple[WallRange, ...]:
    """One day's ranges, validated, fold-free and sorted by start."""
    if not isinstance(ranges, Sequence) or isinstance(ranges, str):
        raise ValueError(f"{label}: hours must be a list of (start, end) times.")
    checked = sorted(_checked_range(label, wall_range) for wall_range in ranges)
    for previous, following in pairwise(checked):
        if following[0] < _end_key(previous[1]):
            raise ValueError(
                f"{label}: {_format_range(previous)} overlaps {_format_range(following)}."
            )
    return tuple(checked)


def _checked_range(label: str, wall_range: object) -> WallRange:
    if not isinstance(wall_range, Sequence) or len(wall_range) != 2:
        raise ValueError(f"{label}: each range must be a (start, end) pair of times.")
    range_start, range_end = wall_range
    for value in (range_start, range_end):
        if not isinstance(value, time):
            raise ValueError(f"{label}: each range must be a (start, end) pair of times.")
        if value.tzinfo is not None:
            raise ValueError(f"{label}: hours are wall-clock times without a time zone.")
    normalized = (range_start.replace(fold=0), range_end.replace(fold=0))
    if range_end != MIDNIGHT and range_end <= range_start:
        problem = "is empty" if range_end == range_start else "ends before it starts"
        raise ValueError(f"{label}: {_format_range(normalized)} {problem}.")
    return normalized


def _end_key(range_end: time) -> time:
    """A range end comparable with starts: midnight at the end of the day sorts last."""
    return time.max if range_end == MIDNIGHT else range_end


def _format_range(wall_range: WallRange) -> str:
    range_start, range_end = wall_range
    end_text = "24:00" if range_end == MIDNIGHT else _format_time(range_end)
    return f"{_format_time(range_start)}-{end_text}"


def _format_time(value: time) -> str:
    return value.isoformat(timespec="seconds" if value.second else "minutes")
