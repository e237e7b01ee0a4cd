"""The public shape of bookings and booking pages, shared by webhooks and the read API.

Only what a host would show a CRM: times (ISO 8601 with the page's offset), the
page, the invitee, answers, status, location, the invitee's links and the host.
Never a provider token, an API token or a signing secret.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse

from booking.models import Booking, BookingPage
from booking.tokens import booking_paths


def _local(moment: datetime | None, zone: ZoneInfo) -> str | None:
    return moment.astimezone(zone).isoformat() if moment else None


def booking_data(booking: Booking) -> dict:
    """``booking`` as the API and webhooks show it (loads its page and host if not loaded)."""
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
            for row in booking.cohosts.select_related("user").order_by("user__email")
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
