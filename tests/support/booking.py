"""Helpers for booking tests: dates to book relative to today, and API calls."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.urls import reverse


def workday(time_zone: str, *, days_ahead: int = 2, weekday: int | None = None) -> date:
    """The first Monday-Friday (or the given weekday) at least ``days_ahead`` days from today."""
    day = datetime.now(ZoneInfo(time_zone)).date() + timedelta(days=days_ahead)
    while day.weekday() > 4 or (weekday is not None and day.weekday() != weekday):
        day += timedelta(days=1)
    return day


def next_fall_back(zone: ZoneInfo) -> datetime:
    """The next instant (UTC, on the hour, two days away or more) at which ``zone``
    turns its clocks back an hour; the hour before it then repeats on the clock."""
    moment = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    while moment.astimezone(zone).utcoffset() - (moment + timedelta(hours=1)).astimezone(
        zone
    ).utcoffset() != timedelta(hours=1):
        moment += timedelta(hours=1)
    return moment + timedelta(hours=1)


def at(day: date, hour: int, minute: int = 0, *, zone: str = "Europe/London") -> datetime:
    return datetime.combine(day, time(hour, minute), ZoneInfo(zone))


def slots_url(slug: str, **query: str) -> str:
    url = reverse("booking:api-slots", args=[slug])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def bookable_body(*, answer_to) -> dict:
    """A booking request for 10:00 on a London workday that a Mon-Fri 9-17 page offers,
    answering the text question ``answer_to``."""
    return {
        "start": at(workday("Europe/London"), 10).isoformat(),
        "name": "Dana",
        "email": "dana@example.com",
        "timezone": "Europe/Paris",
        "answers": {str(answer_to.pk): "Acme"},
    }


def book(client, slug: str, *, REMOTE_ADDR: str = "127.0.0.1", **body):
    """POST a booking request as JSON; defaults make a valid invitee. HTTP_* are headers."""
    headers = {k: body.pop(k) for k in list(body) if k.startswith("HTTP_")}
    payload = {"name": "Dana Invitee", "email": "dana@example.com", "timezone": "Europe/Paris"}
    payload.update(body)
    if isinstance(payload.get("start"), datetime):
        payload["start"] = payload["start"].isoformat()
    return client.post(
        reverse("booking:api-bookings", args=[slug]),
        data=json.dumps(payload),
        content_type="application/json",
        REMOTE_ADDR=REMOTE_ADDR,
        **headers,
    )


PAGE_DEFAULTS = {
    "duration_minutes": 30,
    "increment_minutes": 30,
    "time_zone": "Europe/London",
    "buffer_before_minutes": 0,
    "buffer_after_minutes": 0,
    "minimum_notice_minutes": 60,
    "horizon_days": 60,
    "max_per_day": "",
    "block_tentative": "on",
    "reminder_offsets": ["1440", "60"],
    "location_kind": "teams",
    "location_details": "",
    "is_active": "on",
}
WORKWEEK = [(d, "09:00", "17:00") for d in range(5)]


def editor_data(
    *,
    title: str = "Intro call",
    slug: str = "",
    hours=WORKWEEK,
    overrides=(),
    questions=(),
    **fields,
) -> dict[str, str]:
    """The POST body of Setup's booking page form (page fields, hours, overrides, questions)."""
    data = {"page-title": title, "page-slug": slug}
    for name, value in {**PAGE_DEFAULTS, **fields}.items():
        if value is not None:
            data[f"page-{name}"] = value
    rows = {
        "hours": [{"weekday": d, "start": s, "end": e} for d, s, e in hours],
        "overrides": list(overrides),
        "questions": list(questions),
    }
    for prefix, forms in rows.items():
        data[f"{prefix}-TOTAL_FORMS"] = str(len(forms))
        data[f"{prefix}-INITIAL_FORMS"] = "0"
        for index, form in enumerate(forms):
            for key, value in form.items():
                data[f"{prefix}-{index}-{key}"] = value
    return data
