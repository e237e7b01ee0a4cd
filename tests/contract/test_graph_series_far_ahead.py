"""A calendarView far ahead of a daily series: its occurrences there, at the series'
local time across DST, each named by its original start (and quick to find: the
sandbox expands from the window, ``tests/test_graph_sandbox_series_expansion.py``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from graph_sandbox.recurrence import occurrence_id_parse
from tests.contract.test_graph_recurrence import in_series, series, view

pytestmark = [pytest.mark.slow]


def test_a_window_two_years_ahead_of_a_daily_series_lists_its_days(graph):
    daily = {
        "pattern": {"type": "daily", "interval": 1},
        "range": {"type": "noEnd", "startDate": "2030-03-18"},
    }
    master = graph("POST", "/me/events", json=series(daily)).json()
    # Two years on, across London's change to summer time (Sunday 28 March 2032).
    query = "startDateTime=2032-03-22T00:00:00Z&endDateTime=2032-03-31T00:00:00Z"
    found = in_series(view(graph, query), master["id"])
    starts = [item["start"]["dateTime"][:19] for item in found]
    assert len(found) == 9
    # 09:00 London: 09:00 UTC in winter, 08:00 UTC once summer time began.
    assert starts[:6] == [f"2032-03-{day}T09:00:00" for day in range(22, 28)]
    assert starts[6:] == [f"2032-03-{day}T08:00:00" for day in range(28, 31)]
    assert all(item["type"] == "occurrence" for item in found)
    for item, start in zip(found, starts, strict=True):
        _, original = occurrence_id_parse(item["id"])
        assert original == datetime.fromisoformat(start).replace(tzinfo=UTC)
        end = datetime.fromisoformat(item["end"]["dateTime"][:19])
        assert end - datetime.fromisoformat(start) == timedelta(minutes=15)
