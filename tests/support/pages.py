"""The addresses of every page a host or an invitee sees, for checks that walk them all."""

from __future__ import annotations

from django.urls import reverse


def setup_urls(page, connection) -> list[str]:
    """Setup's pages for ``page`` and ``connection`` (see the ``alices_things`` fixture)."""
    booking = page.bookings.order_by("pk").first()
    meetings = [reverse("meetings:list"), reverse("meetings:list") + "?tab=past&q=nobody"]
    if booking is not None:
        meetings += [
            reverse(f"meetings:{name}", args=[booking.pk]) for name in ("detail", "cancel", "ask")
        ]
    return [
        *meetings,
        reverse("setup:home"),
        reverse("setup:profile"),
        reverse("calendars:integration"),
        reverse("calendars:disconnect", args=[connection.pk]),
        reverse("pages:list"),
        reverse("pages:create"),
        reverse("pages:edit", args=[page.pk]),
        reverse("pages:calendars", args=[page.pk]),
        reverse("pages:delete", args=[page.pk]),
        reverse("accounts:logout"),
    ]


def public_urls(page, links: dict[str, str]) -> list[str]:
    """The pages anyone may open: the home and sign-in pages, the booking page, and a
    booking's links (``links`` as ``booking_paths`` gives them)."""
    return [
        reverse("home"),
        reverse("accounts:login"),
        reverse("accounts:signup"),
        reverse("accounts:password_reset"),
        reverse("booking:page", args=[page.slug]),
        links["manage"],
        links["cancel"],
        links["reschedule"],
    ]
