"""The public shape of bookings and booking pages, shared by webhooks and the read API.

Only what a host would show a CRM: times (ISO 8601 with the page's offset), the
page, the invitee, answers, status, location (its text, its kind and the online
meeting's join link once the calendar made one), the invitee's links and the host.
Never a provider token, an API token or a signing secret.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse

from booking.meeting_selectors import join_urls_for
from booking.models import Booking, BookingPage
from booking.selectors import booking_cohosts
from booking.tokens import booking_paths


def _local(moment: datetime | None, zone: ZoneInfo) -> str | None:
    return moment.astimezone(zone).isoformat() if moment else None


def booking_data(booking: Booking) -> dict:
    """``booking`` as the API and webhooks show it (loads its page and host if not loaded)."""
    return bookings_data([booking])[0]


def bookings_data(bookings: list[Booking]) -> list[dict]:
    """Each of ``bookings`` as ``booking_data`` shows it, their join links read in one
    query (a list's: load the page and host with them, and prefetch ``cohosts``)."""
    join_urls = join_urls_for(bookings=bookings)
    return [_booking_data(booking, join_urls.get(booking.pk)) for booking in bookings]


def _booking_data(booking: Booking, join_url: str | None) -> dict:
    page = booking.page
    zone = ZoneInfo(page.time_zone if page else booking.invitee_time_zone)
    links = {key: settings.SITE_URL + path for key, path in booking_paths(booking).items()}
    return {
        "id": str(booking.uuid),
        "status": booking.status,
        "title": booking.title,
        "start": _local(booking.start, zone),
        "end": _local(booking.end, zone),
        "time_zone": str(zone),
        "location": booking.location,
        # The page's kind of location when booked; null for bookings older than the facts.
        "location_kind": booking.location_kind or None,
        # The online meeting's join link once the calendar made one (Teams), else null.
        "join_url": join_url,
        "page": page_summary(page) if page else None,
        "invitee": {
            "name": booking.invitee_name,
            "email": booking.invitee_email,
            "time_zone": booking.invitee_time_zone,
        },
        "answers": [
            {"question": str(item.get("question", "")), "answer": str(item.get("answer", ""))}
            for item in booking.answers or []
        ],
        "host": {"name": booking.host.get_full_name(), "email": booking.host.email},
        # On a collective page, the other members who attend.
        "cohosts": [
            {"name": row.user.get_full_name(), "email": row.user.email}
            for row in sorted(booking_cohosts(booking=booking), key=lambda row: row.user.email)
        ],
        "cancel_url": links["cancel"],
        "reschedule_url": links["reschedule"],
        "rescheduled_from": _local(booking.rescheduled_from_start, zone),
        "cancel_reason": booking.cancel_reason,
        "cancelled_at": _local(booking.cancelled_at, zone),
        "version": booking.sequence,
        "created_at": _local(booking.created_at, zone),
    }


def page_summary(page: BookingPage) -> dict:
    return {"id": page.pk, "slug": page.slug, "title": page.title}


def page_data(page: BookingPage) -> dict:
    """A booking page as the API shows it."""
    return {
        **page_summary(page),
        "url": settings.SITE_URL + reverse("booking:page", args=[page.slug]),
        "description": page.description,
        "duration_minutes": page.duration_minutes,
        "time_zone": page.time_zone,
        "location": page.location_text,
        "is_active": page.is_active,
        "created_at": page.created_at.isoformat(),
    }
