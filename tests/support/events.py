"""The event most calendar tests push: Alice's 30-minute intro call with Dana."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from calendars.events import Attendee, EventDescription

INTRO_CALL = EventDescription(
    subject="Intro call with Dana",
    start=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
    end=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
    time_zone="Europe/London",
    attendees=(Attendee("dana@example.com", "Dana"),),
)


def intro_call_at(start: datetime, **changes) -> EventDescription:
    """The intro call moved to ``start`` (still 30 minutes), with any other field changed."""
    return replace(INTRO_CALL, start=start, end=start + timedelta(minutes=30), **changes)
