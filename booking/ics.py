"""iCalendar files for bookings (the confirmation download and email attachments)."""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import vCalAddress, vInt, vText, vUri
from icalendar.parser import Contentline

from booking.models import Booking

PRODID = "-//ScheduleOnce//Booking//EN"
# RFC 5545 3.1: a content line is folded to at most 75 octets. icalendar folds before
# the character that would reach 75, so a shorter line comes out of it unchanged.
FOLD_AT = 75


def _address(email: str, name: str, role: str | None = None) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["cn"] = vText(name)
    if role:
        address.params["role"] = vText(role)
    return address


def booking_ics(
    *,
    booking: Booking,
    for_host: bool,
    description: str = "",
    method: str = "PUBLISH",
    url: str = "",
) -> bytes:
    """The booking's .ics: one VEVENT (UID = booking uuid, times in UTC, SEQUENCE as
    booked; METHOD ``method``, PUBLISH for downloads and confirmations, CANCEL once
    cancelled; the summary names the other person, in the active language), written
    line by line exactly as icalendar writes the same calendar built from its components
    (the tests compare the two: ``tests/support/ics_reference.py``).

    Every booking email carries one (two per booking), and building the calendar (each
    ``add`` guessing the value's type) and serializing it (sorting, parameters, content
    lines) was most of an email's cost. Each value is still escaped, quoted and written
    by icalendar's own value types (``vText``, ``vDatetime``, ``vCalAddress`` and its
    parameters); only the order of the lines is written out here: the calendar's, then
    the event's canonical properties, then the others alphabetically, as icalendar
    sorts them (a test compares the two for generated bookings). ``url``: the online
    meeting's join link, as the event's URL.
    """
    cancelled = not booking.is_confirmed
    host_name = booking.host.get_full_name()
    other = booking.invitee_name if for_host else host_name
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{_text(PRODID)}",
        f"METHOD:{_text('CANCEL' if cancelled else method)}",
        "BEGIN:VEVENT",
        f"SUMMARY:{_text(_('%(title)s with %(name)s') % {'title': booking.title, 'name': other})}",
        f"DTSTART:{_utc(booking.start)}",
        f"DTEND:{_utc(booking.end)}",
        f"DTSTAMP:{_utc(timezone.now())}",
        f"UID:{_text(str(booking.uuid))}",
        f"SEQUENCE:{vInt(booking.sequence).to_ical().decode()}",
        _address_line(
            "ATTENDEE", _address(booking.invitee_email, booking.invitee_name, "REQ-PARTICIPANT")
        ),
    ]
    if description:
        lines.append(f"DESCRIPTION:{_text(description)}")
    location = booking.location_text
    if location:
        lines.append(f"LOCATION:{_text(location)}")
    lines.append(_address_line("ORGANIZER", _address(booking.host.email, host_name)))
    lines.append(f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}")
    if url:
        lines.append(f"URL:{vUri(url).to_ical().decode()}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return b"\r\n".join(_folded(line) for line in lines) + b"\r\n"


def _text(value: str) -> str:
    return vText(value).to_ical().decode()


def _utc(moment: datetime) -> str:
    """As ``vDatetime`` writes a UTC time (seconds, no fraction, "Z"), without its time zone
    lookup (about 40 Python calls; three times per .ics)."""
    utc = moment.astimezone(UTC)
    return f"{utc.year:04}{utc.month:02}{utc.day:02}T{utc.hour:02}{utc.minute:02}{utc.second:02}Z"


def _address_line(name: str, address: vCalAddress) -> str:
    """As ``Contentline.from_parts`` writes a property with parameters."""
    value = address.to_ical().decode()
    params = address.params.to_ical().decode()
    return f"{name};{params}:{value}" if params else f"{name}:{value}"


def _folded(line: str) -> bytes:
    """One content line as icalendar folds it (``Contentline.to_ical``), byte for byte.

    icalendar folds character by character; a line shorter than ``FOLD_AT`` octets is
    the same folded or not, so only longer ones are folded: an ASCII one by slices at the
    very places icalendar folds it, any other by icalendar itself.
    """
    data = line.encode()
    if len(data) < FOLD_AT:
        return data
    if line.isascii():
        return _fold_ascii(line).encode()
    return Contentline(line).to_ical()


def _fold_ascii(line: str) -> str:
    """icalendar's folding of an ASCII ``line`` (``Contentline.to_ical``), by slices
    rather than character by character: pieces of ``FOLD_AT - 1`` octets, except that a
    piece never ends in a backslash or caret (an escape is not split across lines: that
    character starts the next piece), joined with CRLF and a space."""
    width = FOLD_AT - 1
    pieces = []
    start = 0
    while len(line) - start > width:
        end = start + width
        if line[end - 1] in "\\^":
            end -= 1
        pieces.append(line[start:end])
        start = end
    pieces.append(line[start:])
    return "\r\n ".join(pieces)
