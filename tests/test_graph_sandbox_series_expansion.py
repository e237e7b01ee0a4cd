"""The sandbox expands a series from the window asked, not from the series' start: a
calendarView years ahead of a daily series walks about as many occurrences as the window
holds, and gives exactly what walking from the start gave (every pattern and range kind,
intervals, week starts, zones with DST, long events)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil import rrule
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from graph_sandbox import recurrence as series
from graph_sandbox.graph.errors import GraphError

ZONES = ("Europe/London", "America/New_York", "Asia/Kolkata", "Pacific/Auckland", "UTC")


def _walked_from_the_start(recurrence, *, first_start, duration, time_zone, window):
    """The occurrences in ``window`` as the sandbox found them before: every occurrence
    from the series' start, kept when it overlaps."""
    every = series.occurrences(
        recurrence,
        first_start=first_start,
        duration=duration,
        time_zone=time_zone,
        window_end=window[1],
        limit=10**7,
    )
    return [o for o in every if o.end > window[0]]


@st.composite
def cases(draw):
    kind = draw(st.sampled_from(series.PATTERN_TYPES))
    pattern = {"type": kind, "interval": draw(st.integers(1, 4))}
    pattern["firstDayOfWeek"] = draw(st.sampled_from(series.DAYS))
    if kind in ("weekly", "relativeMonthly", "relativeYearly"):
        pattern["daysOfWeek"] = draw(
            st.lists(st.sampled_from(series.DAYS), min_size=1, max_size=3, unique=True)
        )
    if kind in ("absoluteMonthly", "absoluteYearly"):
        pattern["dayOfMonth"] = draw(st.integers(1, 31))
    if kind in ("absoluteYearly", "relativeYearly"):
        pattern["month"] = draw(st.integers(1, 12))
    if kind in ("relativeMonthly", "relativeYearly"):
        pattern["index"] = draw(st.sampled_from(series.INDEXES))
    time_zone = draw(st.sampled_from(ZONES))
    start_day = draw(st.dates(date(2024, 1, 1), date(2030, 12, 31)))
    hour, minute = draw(st.integers(0, 23)), draw(st.sampled_from((0, 30)))
    local = datetime.combine(start_day, time(hour, minute))
    first_start = local.replace(tzinfo=ZoneInfo(time_zone)).astimezone(UTC)
    start_day = first_start.astimezone(ZoneInfo(time_zone)).date()  # a skipped hour moves
    range_kind = draw(st.sampled_from(("noEnd", "endDate")))
    series_range = {"type": range_kind, "startDate": str(start_day)}
    if series_range["type"] == "endDate":
        series_range["endDate"] = str(start_day + timedelta(days=draw(st.integers(0, 3000))))
    try:
        recurrence = series.recurrence_read(
            {"pattern": pattern, "range": series_range},
            start=first_start,
            start_time_zone=time_zone,
        )
    except GraphError:
        assume(False)
    duration = timedelta(minutes=draw(st.sampled_from((15, 60, 24 * 60, 3 * 24 * 60 + 7))))
    window_start = first_start + timedelta(
        days=draw(st.integers(-40, 3000)), hours=draw(st.integers(0, 23))
    )
    window = (window_start, window_start + timedelta(days=draw(st.integers(1, 62))))
    return recurrence, first_start, duration, time_zone, window


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_a_window_gives_what_walking_from_the_series_start_gave(case):
    recurrence, first_start, duration, time_zone, window = case
    kwargs = {"first_start": first_start, "duration": duration, "time_zone": time_zone}
    found = series.occurrences(recurrence, window_start=window[0], window_end=window[1], **kwargs)
    assert found == _walked_from_the_start(recurrence, window=window, **kwargs)


def _daily_from(day: str) -> dict:
    return series.recurrence_read(
        {"pattern": {"type": "daily", "interval": 1}, "range": {"type": "noEnd", "startDate": day}},
        start=datetime.fromisoformat(f"{day}T09:00:00+00:00"),
        start_time_zone="Europe/London",
    )


@pytest.mark.parametrize("years_ahead", [2, 40])
def test_a_window_far_ahead_walks_about_the_windows_occurrences(monkeypatch, years_ahead):
    walked = []
    original = rrule.rrule._iter

    def counting(self):
        for item in original(self):
            walked.append(item)
            yield item

    monkeypatch.setattr(rrule.rrule, "_iter", counting)
    first = datetime(2026, 12, 7, 9, tzinfo=UTC)
    window_start = first + timedelta(days=365 * years_ahead)
    found = series.occurrences(
        _daily_from("2026-12-07"),
        first_start=first,
        duration=timedelta(minutes=15),
        time_zone="Europe/London",
        window_start=window_start,
        window_end=window_start + timedelta(days=31),
    )
    assert len(found) == 31
    assert len(walked) <= 31 + 5  # the window's days, the margin before it, one past it
