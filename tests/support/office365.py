"""Helpers for tests of the calendar workers against the Graph sandbox.

A host connects the way a person does (Setup's Connect, the sandbox's sign-in
and consent pages over HTTP, the callback, real MSAL); bookings are made through
the public API; what arrived is read back from the sandbox.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.urls import reverse

from booking.models import BookingPage
from calendars.models import CalendarConnection, ConnectionStatus, PushedEvent
from tests.support.booking import book, slots_url

ADELE = "adele@contoso.example"
MEGAN = "megan@contoso.example"
# The address the demo app's redirect URI is registered for.
PRODUCT_HOST = "127.0.0.1:8000"


def connect_host(client, sandbox, *, address: str = ADELE, **form) -> CalendarConnection:
    """Press Connect in Setup, sign in and consent on the sandbox, land back in Setup."""
    client.defaults["HTTP_HOST"] = PRODUCT_HOST
    started = client.post(reverse("calendars:office365_connect"), form)
    assert started.status_code == 302, started.content[:300]
    answer = sandbox.sign_in(started["Location"], address=address)
    landed = client.post(reverse("calendars:office365_callback"), answer.fields)
    assert landed.status_code == 302
    return CalendarConnection.objects.get(
        host_id=client.session["_auth_user_id"],
        account_email=address,
        status=ConnectionStatus.CONNECTED,
    )


def open_page(host, *, slug: str = "intro", title: str = "Intro call", **fields) -> BookingPage:
    """A page of ``host`` open around the clock every day, 15-minute slots, no notice."""
    from booking.services.pages import page_create

    defaults = {
        "title": title,
        "slug": slug,
        "duration_minutes": 15,
        "increment_minutes": 15,
        "minimum_notice_minutes": 0,
        "time_zone": "Europe/London",
    }
    return page_create(
        host=host,
        fields={**defaults, **fields},
        hours=[(weekday, time(0), time(0)) for weekday in range(7)],
    )


def offered(client, slug: str, *, first: date, days: int = 1, tz: str = "Europe/London"):
    """The slots the public API offers from ``first`` for ``days`` days: [(start, end)]."""
    last = first + timedelta(days=days - 1)
    answer = client.get(slots_url(slug, start=first.isoformat(), end=last.isoformat(), tz=tz))
    assert answer.status_code == 200, answer.content[:300]
    return [(s["start"], s["end"]) for s in answer.json()["slots"]]


def tomorrow(tz: str = "Europe/London") -> date:
    return datetime.now(ZoneInfo(tz)).date() + timedelta(days=1)


def book_starts(client, slug: str, starts: list[str], *, name: str = "Invitee") -> list[dict]:
    """Book each start through the public API, each by another invitee; the 201 bodies."""
    made = []
    for number, start in enumerate(starts):
        answer = book(
            client,
            slug,
            start=start,
            name=f"{name} {number:03d}",
            email=f"invitee{number:03d}@example.com",
            answers={},
        )
        assert answer.status_code == 201, answer.content[:300]
        made.append(answer.json())
    return made


def rows_for(booking_id: str) -> list[PushedEvent]:
    return list(PushedEvent.objects.filter(source=f"booking:{booking_id}").order_by("pk"))


def all_settled() -> bool:
    rows = list(PushedEvent.objects.all())
    return bool(rows) and all(row.is_settled for row in rows)


def states() -> dict[str, int]:
    counts: dict[str, int] = {}
    for state in PushedEvent.objects.values_list("state", flat=True):
        counts[state] = counts.get(state, 0) + 1
    return counts
