"""The demo booking page that local runs seed, so the public link works at once."""

from __future__ import annotations

from booking.models import BookingPage
from booking.services.pages import DEFAULT_WEEKLY_HOURS, page_create

DEMO_SLUG = "demo"


def ensure_demo_page(host) -> tuple[BookingPage, bool]:
    """The page ``demo`` of ``host`` (Mon-Fri 9:00-17:00 in the host's zone, 30 minutes).

    Creates it when missing; never changes an existing page.
    """
    page = BookingPage.objects.filter(slug=DEMO_SLUG).first()
    if page is not None:
        return page, False
    page = page_create(
        host=host,
        fields={
            "title": "30-minute meeting",
            "slug": DEMO_SLUG,
            "description": "A demo booking page: pick a time that suits you.",
            "duration_minutes": 30,
            "increment_minutes": 30,
            "time_zone": host.time_zone,
        },
        hours=DEFAULT_WEEKLY_HOURS,
    )
    return page, True
