"""The reference a booking's .ics is compared with: the same calendar built from
icalendar's components and serialized by icalendar (``booking.ics.booking_ics`` writes
it line by line, for speed, and must come out byte for byte the same)."""

from __future__ import annotations

from datetime import UTC

from django.utils import timezone
from django.utils.translation import gettext
from icalendar import Calendar, Event, vCalAddress, vText

from booking.ics import PRODID, _folded


def _address(email: str, name: str, role: str | None = None) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["cn"] = vText(name)
    if role:
        address.params["role"] = vText(role)
    return address


def booking_calendar(
    *, booking, for_host: bool, description: str = "", method: str = "PUBLISH", url: str = ""
) -> Calendar:
    """The booking's one VEVENT as icalendar components."""
    cancelled = not booking.is_confirmed
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else method)
    event = Event()
    event.add("uid", str(booking.uuid))
    event.add("dtstamp", timezone.now())
    event.add("dtstart", booking.start.astimezone(UTC))
    event.add("dtend", booking.end.astimezone(UTC))
    event.add("sequence", booking.sequence)
    other = booking.invitee_name if for_host else booking.host.get_full_name()
    event.add(
        "summary", gettext("%(title)s with %(name)s") % {"title": booking.title, "name": other}
    )
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if booking.location_text:
        event.add("location", booking.location_text)
    if description:
        event.add("description", description)
    if url:
        event.add("url", url)
    event.add("organizer", _address(booking.host.email, booking.host.get_full_name()))
    event.add("attendee", _address(booking.invitee_email, booking.invitee_name, "REQ-PARTICIPANT"))
    calendar.add_component(event)
    return calendar


def ical_bytes(calendar: Calendar) -> bytes:
    """``calendar``'s lines folded by the product's ``_folded`` (to compare with
    ``calendar.to_ical()``)."""
    return b"\r\n".join(_folded(line) for line in calendar.content_lines() if line) + b"\r\n"
