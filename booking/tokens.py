"""Unguessable links for invitees: a booking's uuid signed with the site's secret.

A token names one booking and lets whoever holds it see, cancel or reschedule it.
It travels in the invitee's confirmation page and emails, and in the event text
(calendar event body and .ics description) that both the invitee and the host get.
"""

from __future__ import annotations

import functools
import uuid

from django.conf import settings
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

    Worked out once per booking (and URL prefix and secret) in each process: a new
    booking's event text and the answer to its request show them, and a worker's bundle
    reads the booking twice (its confirmation emails, then the join-link email)."""
    urlconf = get_urlconf(settings.ROOT_URLCONF)
    return dict(_paths(booking.uuid, get_script_prefix(), urlconf, settings.SECRET_KEY))


@functools.lru_cache(maxsize=1024)
def _paths(booking_uuid: uuid.UUID, _prefix: str, _urlconf: str, _secret: str) -> dict[str, str]:
    token = signing.Signer(salt=SALT).sign(booking_uuid.hex)
    return {
        "manage": reverse("booking:manage", args=[token]),
        "cancel": reverse("booking:cancel", args=[token]),
        "reschedule": reverse("booking:reschedule", args=[token]),
        "ics": reverse("booking:ics", args=[token]),
    }
