"""The team slot engine agrees with the one-host engine, member by member.

Round-robin offers exactly the union of what each member's own ``available_slots``
offers (with the same rules), collective exactly the intersection, and each slot names
exactly the members free for it.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

import pytest

from booking.slots import (
    Interval,
    MemberTime,
    Rules,
    WorkingHours,
    available_slots,
    team_slots,
)

START = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)  # midnight in New York; spans the DST change


def _rules(rng: random.Random) -> Rules:
    return Rules(
        time_zone="America/New_York",
        weekly_hours={day: [(time(8), time(12)), (time(13), time(18))] for day in range(6)},
        duration=timedelta(minutes=rng.choice((15, 30, 45))),
        increment=timedelta(minutes=rng.choice((15, 30))),
        buffer_before=timedelta(minutes=rng.choice((0, 10))),
        buffer_after=timedelta(minutes=rng.choice((0, 5, 15))),
        horizon_days=20,
    )


def _intervals(rng: random.Random, count: int) -> list[Interval]:
    found = []
    for _ in range(count):
        begin = START + timedelta(minutes=rng.randrange(14 * 1440))
        found.append(Interval(begin, begin + timedelta(minutes=rng.choice((15, 30, 60, 120)))))
    return found


@pytest.mark.parametrize("seed", range(25))
def test_round_robin_is_the_union_and_collective_the_intersection(seed):
    rng = random.Random(seed)
    rules = _rules(rng)
    members = {
        key: MemberTime(busy=_intervals(rng, rng.randrange(0, 60)), bookings=_intervals(rng, 5))
        for key in ("ann", "bob", "cy", "dee")[: rng.randrange(1, 5)]
    }
    window = {"start": START, "end": START + timedelta(days=14), "now": START}
    own = {
        key: {
            slot.start
            for slot in available_slots(
                rules=rules, busy=member.busy, bookings=member.bookings, **window
            )
        }
        for key, member in members.items()
    }
    round_robin = team_slots(
        rules=rules, members=members, page_bookings=[], everyone=False, **window
    )
    assert {slot.start for slot in round_robin} == set().union(*own.values())
    for slot in round_robin:
        assert set(slot.free) == {key for key, starts in own.items() if slot.start in starts}
    listing = team_slots(
        rules=rules, members=members, page_bookings=[], everyone=False, name_free=False, **window
    )
    assert [s.start for s in listing] == [s.start for s in round_robin]
    assert all(
        len(s.free) == 1 and s.free[0] in t.free for s, t in zip(listing, round_robin, strict=True)
    )
    collective = team_slots(rules=rules, members=members, page_bookings=[], everyone=True, **window)
    assert {slot.start for slot in collective} == set.intersection(*own.values())
    assert all(slot.free == tuple(members) for slot in collective)


def test_no_members_offer_nothing_and_the_daily_cap_counts_the_whole_page():
    rules = Rules(
        time_zone="UTC",
        weekly_hours={0: [(time(9), time(12))]},
        max_per_day=2,
        horizon_days=8,
    )
    window = {"start": START, "end": START + timedelta(days=8), "now": START}
    assert team_slots(rules=rules, members={}, page_bookings=[], everyone=False, **window) == []
    monday = datetime(2026, 3, 2, 9, tzinfo=UTC)
    page_bookings = [Interval(monday, monday + timedelta(minutes=30))] * 2
    found = team_slots(
        rules=rules,
        members={"ann": MemberTime(), "bob": MemberTime()},
        page_bookings=page_bookings,
        everyone=False,
        **window,
    )
    assert all(slot.start.date() != monday.date() for slot in found)
    assert found  # the next Monday still offers times


ZONES = ("America/New_York", "Europe/London", "Asia/Tokyo", "Europe/Berlin")


def _weekly(rng: random.Random) -> dict:
    """Random weekly hours on the hour, away from midnight and the small hours (a range
    ending at midnight would let a team slot run into the next day's range)."""
    weekly = {}
    for day in range(7):
        if rng.random() < 0.25:
            continue
        first = rng.randrange(5, 12)
        ranges = [(time(first), time(first + rng.randrange(1, 5)))]
        if rng.random() < 0.5:
            second = ranges[0][1].hour + rng.randrange(1, 3)
            ranges.append((time(second), time(min(23, second + rng.randrange(1, 6)))))
        weekly[day] = ranges
    return weekly


@pytest.mark.parametrize("seed", range(25))
def test_members_own_hours_match_each_members_own_page_in_their_zone(seed):
    """A page that uses its members' hours offers, for each member, exactly what a page
    of that member's own with their hours in their zone (and the page's other rules)
    offers: round-robin the union, collective the intersection."""
    rng = random.Random(1000 + seed)
    base = _rules(rng)
    page = Rules(
        time_zone=rng.choice(ZONES),
        weekly_hours={},
        duration=base.duration,
        increment=base.increment,
        buffer_before=base.buffer_before,
        buffer_after=base.buffer_after,
        horizon_days=40,
    ).whole_days()
    keys = ("ann", "bob", "cy")[: rng.randrange(1, 4)]
    hours = {
        key: WorkingHours(time_zone=rng.choice(ZONES), weekly_hours=_weekly(rng)) for key in keys
    }
    members = {
        key: MemberTime(
            busy=_intervals(rng, rng.randrange(0, 40)),
            bookings=_intervals(rng, 3),
            hours=hours[key],
        )
        for key in keys
    }
    window = {"start": START, "end": START + timedelta(days=14), "now": START}
    own = {}
    for key, member in members.items():
        alone = Rules(
            time_zone=hours[key].time_zone,
            weekly_hours=hours[key].weekly_hours,
            duration=page.duration,
            increment=page.increment,
            buffer_before=page.buffer_before,
            buffer_after=page.buffer_after,
            horizon_days=40,
        )
        own[key] = {
            slot.start
            for slot in available_slots(
                rules=alone, busy=member.busy, bookings=member.bookings, **window
            )
        }
    round_robin = team_slots(
        rules=page, members=members, page_bookings=[], everyone=False, **window
    )
    assert {slot.start for slot in round_robin} == set().union(*own.values())
    for slot in round_robin:
        assert set(slot.free) == {key for key, starts in own.items() if slot.start in starts}
    collective = team_slots(rules=page, members=members, page_bookings=[], everyone=True, **window)
    assert {slot.start for slot in collective} == set.intersection(*own.values())
