"""How ``booking.slots.available_slots`` scales with busy intervals and candidate slots.

    .venv/bin/python -m bench.slots

Table 1 holds the window (62 days, 15-minute increments, open around the clock)
and grows the number of busy intervals. Table 2 grows the window at a fixed
density of busy time, so busy intervals and candidates grow together. If the
engine is linear in busy + candidates (sort once, sweep once), the last column
-- microseconds per busy interval or candidate -- stays flat; a slots x busy
loop would make it grow with the table.
"""

from __future__ import annotations

import random
import time as clock
from datetime import UTC, datetime, time, timedelta

from booking.slots import Interval, Rules, available_slots

ZONE = "America/New_York"
START = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)  # midnight in New York; the window spans DST
SEED = 20260302


def page_rules(*, horizon_days: int) -> Rules:
    """A page open around the clock: the most candidates a 15-minute increment can give."""
    return Rules(
        time_zone=ZONE,
        weekly_hours={weekday: [(time(0, 0), time(0, 0))] for weekday in range(7)},
        duration=timedelta(minutes=30),
        increment=timedelta(minutes=15),
        buffer_before=timedelta(minutes=10),
        buffer_after=timedelta(minutes=10),
        horizon_days=horizon_days,
        max_per_day=20,
    )


def random_intervals(rng: random.Random, count: int, days: int) -> list[Interval]:
    """``count`` busy intervals of 5 to 90 minutes at random minutes of the window."""
    intervals = []
    for _ in range(count):
        begin = START + timedelta(minutes=rng.randrange(days * 1440))
        intervals.append(
            Interval(begin, begin + timedelta(minutes=rng.choice([5, 15, 30, 60, 90])))
        )
    return intervals


def daily_bookings(days: int) -> list[Interval]:
    """One 30-minute booking at 15:00 UTC every day."""
    return [
        Interval(
            START + timedelta(days=day, hours=10), START + timedelta(days=day, hours=10, minutes=30)
        )
        for day in range(days)
    ]


def best_time(call, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        began = clock.perf_counter()
        call()
        best = min(best, clock.perf_counter() - began)
    return best


def measure(*, busy_count: int, days: int, rng: random.Random) -> tuple[int, int, int, float]:
    """(busy intervals, candidate slots, slots returned, seconds per call)."""
    rules = page_rules(horizon_days=days + 1)
    busy = random_intervals(rng, busy_count, days)
    bookings = daily_bookings(days)
    window = {"start": START, "end": START + timedelta(days=days), "now": START}
    candidates = len(available_slots(rules=rules, busy=[], bookings=[], **window))
    slots = available_slots(rules=rules, busy=busy, bookings=bookings, **window)
    seconds = best_time(
        lambda: available_slots(rules=rules, busy=busy, bookings=bookings, **window),
        repeats=3 if busy_count >= 100_000 else 7,
    )
    return busy_count, candidates, len(slots), seconds


COLUMNS = ("days", "busy", "candidates", "slots", "ms/call", "us per busy+candidate")
WIDTHS = (5, 8, 11, 7, 9, 22)


def print_row(cells: tuple[str, ...]) -> None:
    print(" ".join(cell.rjust(width) for cell, width in zip(cells, WIDTHS, strict=True)))


def print_table(title: str, rows: list[tuple[int, int, int, int, float]]) -> None:
    print(title)
    print_row(COLUMNS)
    for days, busy, candidates, slots, seconds in rows:
        per_item = seconds * 1e6 / (busy + candidates)
        numbers = (days, busy, candidates, slots)
        print_row((*map(str, numbers), f"{seconds * 1e3:.1f}", f"{per_item:.2f}"))


def main() -> None:
    rng = random.Random(SEED)
    growing_busy = []
    for busy_count in (0, 1_000, 10_000, 100_000):
        growing_busy.append((62, *measure(busy_count=busy_count, days=62, rng=rng)))
    print_table("62-day window, 15-minute increments, growing busy time:", growing_busy)
    print()
    growing_window = []
    for days in (7, 31, 62, 124, 248):
        growing_window.append((days, *measure(busy_count=days * 40, days=days, rng=rng)))
    print_table("Growing window, 40 busy intervals a day:", growing_window)


if __name__ == "__main__":
    main()
