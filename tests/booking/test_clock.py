"""How booked times read: a time the clocks repeat carries its offset, others do not."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from booking.clock import clock_text, offset_text

ZONE_PICKER = Path(__file__).resolve().parents[2] / "static" / "js" / "zone_picker.js"
MINUS = "\N{MINUS SIGN}"


@pytest.mark.parametrize(
    ("zone", "moment", "text"),
    [
        ("America/New_York", datetime(2026, 11, 1, 5, 30, tzinfo=UTC), f"01:30 (UTC{MINUS}4)"),
        ("America/New_York", datetime(2026, 11, 1, 6, 30, tzinfo=UTC), f"01:30 (UTC{MINUS}5)"),
        ("America/New_York", datetime(2026, 11, 1, 8, 0, tzinfo=UTC), "03:00"),
        # Lord Howe goes back half an hour.
        ("Australia/Lord_Howe", datetime(2027, 4, 3, 14, 45, tzinfo=UTC), "01:45 (UTC+11)"),
        ("Australia/Lord_Howe", datetime(2027, 4, 3, 15, 15, tzinfo=UTC), "01:45 (UTC+10:30)"),
        ("Asia/Kolkata", datetime(2026, 11, 1, 6, 30, tzinfo=UTC), "12:00"),
    ],
)
def test_a_repeated_wall_time_carries_its_offset(zone, moment, text):
    assert clock_text(moment.astimezone(ZoneInfo(zone))) == text


@pytest.mark.parametrize(
    ("zone", "text"),
    [
        ("America/New_York", f"UTC{MINUS}5"),
        ("America/St_Johns", f"UTC{MINUS}3:30"),
        ("Europe/London", "UTC"),
        ("Europe/Berlin", "UTC+1"),
        ("Asia/Kolkata", "UTC+5:30"),
        ("Asia/Kathmandu", "UTC+5:45"),
    ],
)
def test_an_offset_reads_with_a_minus_sign_and_no_zeros(zone, text):
    assert offset_text(datetime(2026, 1, 15, 12, tzinfo=UTC).astimezone(ZoneInfo(zone))) == text


def test_the_browser_writes_an_offset_exactly_as_the_server_does():
    """static/js/zone_picker.js's ``ScheduleOnce.offsetText`` (the zone picker, and the
    booking page's repeated times) against ``offset_text``, for every whole-minute
    offset a zone has had."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    minutes = list(range(-12 * 60, 14 * 60 + 1, 15))
    script = (
        "globalThis.window = {};"
        f"require({json.dumps(str(ZONE_PICKER))});"
        f"console.log(JSON.stringify({json.dumps(minutes)}.map(window.ScheduleOnce.offsetText)));"
    )
    run = subprocess.run([node, "-e", script], capture_output=True, text=True, check=True)
    browser = json.loads(run.stdout)
    zones = [timezone(timedelta(minutes=m)) for m in minutes]
    server = [offset_text(datetime(2026, 1, 1, tzinfo=zone)) for zone in zones]
    assert browser == server
