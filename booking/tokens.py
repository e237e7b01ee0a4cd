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
def _paths(booking_uuid: uuid.UUID, prefix: str, urlconf: str, _secret: str) -> dict[str, str]:
    token = signing.Signer(salt=SALT).sign(booking_uuid.hex)
    return {name: before + token + after for name, (before, after) in _around(prefix, urlconf)}


# A booking's links, by the name of their URL pattern (in ``booking``'s namespace).
LINKS = ("manage", "cancel", "reschedule", "ics")
# Stands for the token while the links are reversed (URL-safe, as a token is).
_MARK = "booking-token-mark"


@functools.cache
def _around(_prefix: str, _urlconf: str) -> tuple[tuple[str, tuple[str, str]], ...]:
    """Each link's path before and after its token, reversed once per process (and URL
    prefix and urlconf): ``reverse`` costs about a hundred Python calls per link, four
    links a booking. A token is hex digits, ``:`` and URL-safe base64, which ``reverse``
    leaves as they are, so the token between the two parts is what ``reverse`` gives."""
    around = []
    for name in LINKS:
        before, _, after = reverse(f"booking:{name}", args=[_MARK]).rpartition(_MARK)
        around.append((name, (before, after)))
    return tuple(around)
