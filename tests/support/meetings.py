"""Helpers for Setup → Meetings tests: bookings made directly, at any time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def meeting(page, start: datetime, *, name="Dana Invitee", email="dana@example.com", **fields):
    """A booking row on ``page`` as ``booking_create`` would store it, its location
    included (no slot checks: lists only read what is stored)."""
    from booking.models import Booking, BookingStatus

    defaults = {
        "host": page.host,
        "title": page.title,
        "location": page.location_text,
        "location_kind": page.location_kind,
        "location_details": page.location_details,
        "end": start + timedelta(minutes=page.duration_minutes),
        "invitee_time_zone": "Europe/Paris",
        "status": BookingStatus.CONFIRMED,
    }
    defaults.update(fields)
    return Booking.objects.create(
        page=page, start=start, invitee_name=name, invitee_email=email, **defaults
    )


def tomorrow_ten() -> datetime:
    """Tomorrow 10:00 UTC, on the hour."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return (now + timedelta(days=1)).replace(hour=10)
