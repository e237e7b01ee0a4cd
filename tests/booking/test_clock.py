"""How booked times read: a time the clocks repeat carries its offset, others do not."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from booking.clock import clock_text


@pytest.mark.parametrize(
    ("zone", "moment", "text"),
    [
        ("America/New_York", datetime(2026, 11, 1, 5, 30, tzinfo=UTC), "01:30 (UTC-4)"),
        ("America/New_York", datetime(2026, 11, 1, 6, 30, tzinfo=UTC), "01:30 (UTC-5)"),
        ("America/New_York", datetime(2026, 11, 1, 8, 0, tzinfo=UTC), "03:00"),
        # Lord Howe goes back half an hour.
        ("Australia/Lord_Howe", datetime(2027, 4, 3, 14, 45, tzinfo=UTC), "01:45 (UTC+11)"),
        ("Australia/Lord_Howe", datetime(2027, 4, 3, 15, 15, tzinfo=UTC), "01:45 (UTC+10:30)"),
        ("Asia/Kolkata", datetime(2026, 11, 1, 6, 30, tzinfo=UTC), "12:00"),
    ],
)
def test_a_repeated_wall_time_carries_its_offset(zone, moment, text):
    assert clock_text(moment.astimezone(ZoneInfo(zone))) == text
