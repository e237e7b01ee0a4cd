"""Helpers for booking tests: dates to book relative to today, and API calls."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.urls import reverse


def workday(time_zone: str, *, days_ahead: int = 2, weekday: int | None = None) -> date:
    """The first Monday-Friday (or the given weekday) at least ``days_ahead`` days from today."""
    day = datetime.now(ZoneInfo(time_zone)).date() + timedelta(days=days_ahead)
    while day.weekday() > 4 or (weekday is not None and day.weekday() != weekday):
        day += timedelta(days=1)
    return day


def at(day: date, hour: int, minute: int = 0, *, zone: str = "Europe/London") -> datetime:
    return datetime.combine(day, time(hour, minute), ZoneInfo(zone))


def slots_url(slug: str, **query: str) -> str:
    url = reverse("booking:api-slots", args=[slug])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def book(client, slug: str, **body):
    """POST a booking request as JSON; defaults make a valid invitee."""
    payload = {"name": "Dana Invitee", "email": "dana@example.com", "timezone": "Europe/Paris"}
    payload.update(body)
    if isinstance(payload.get("start"), datetime):
        payload["start"] = payload["start"].isoformat()
    return client.post(
        reverse("booking:api-bookings", args=[slug]),
        data=json.dumps(payload),
        content_type="application/json",
    )
