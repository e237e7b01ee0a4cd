"""Unguessable links for invitees: a booking's uuid signed with the site's secret.

A token names one booking and lets whoever holds it see, cancel or reschedule it.
It travels in the invitee's confirmation page and emails, and in the event text
(calendar event body and .ics description) that both the invitee and the host get.
"""

from __future__ import annotations

import uuid

from django.core import signing
from django.urls import get_script_prefix, get_urlconf, reverse

from booking.models import Booking

SALT = "booking.manage-link"


def booking_token(booking: Booking) -> str:
    return signing.Signer(salt=SALT).sign(booking.uuid.hex)


def booking_from_token(token: str) -> Booking | None:
    """The booking the token was made for, or None for a forged, mangled or stale token."""
    try:
        value = signing.Signer(salt=SALT).unsign(token)
        booking_uuid = uuid.UUID(hex=value)
    except (signing.BadSignature, ValueError):
        return None
    return Booking.objects.select_related("page", "host").filter(uuid=booking_uuid).first()


def booking_paths(booking: Booking) -> dict[str, str]:
    """Site-relative links an invitee uses for this booking.

    Worked out once per booking object (and URL prefix): a new booking's event text and
    the answer to its request both show them."""
    key = (booking.uuid, get_script_prefix(), get_urlconf())
    known = booking.__dict__.get("_invitee_paths")
    if known is None or known[0] != key:
        token = booking_token(booking)
        paths = {
            "manage": reverse("booking:manage", args=[token]),
            "cancel": reverse("booking:cancel", args=[token]),
            "reschedule": reverse("booking:reschedule", args=[token]),
            "ics": reverse("booking:ics", args=[token]),
        }
        known = booking.__dict__["_invitee_paths"] = (key, paths)
    return dict(known[1])
