"""iCalendar files for bookings (the confirmation download and email attachments)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import vUri
from icalendar.parser import Contentline

from booking.models import Booking

PRODID = "-//ScheduleOnce//Booking//EN"
# RFC 5545 3.1: a content line is folded to at most 75 octets. icalendar folds before
# the character that would reach 75, so a shorter line comes out of it unchanged.
FOLD_AT = 75


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
    as icalendar's value types write it (``vText``, ``vDatetime``, ``vCalAddress`` and
    its parameters: ``_text``, ``_utc``, ``_address_line``), in the order icalendar
    writes the lines: the calendar's, then the event's canonical properties, then the
    others alphabetically (a test compares the two for generated bookings, quotes, line
    breaks and escapes included). Through those value types an .ics took about 590 Python
    calls (a ``Parameters`` dictionary for every value); written here, about 120.
    ``url``: the online meeting's join link, as the event's URL.
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
        f"SEQUENCE:{int(booking.sequence)}",
        _address_line(
            "ATTENDEE", booking.invitee_email, booking.invitee_name, role="REQ-PARTICIPANT"
        ),
    ]
    if description:
        lines.append(f"DESCRIPTION:{_text(description)}")
    location = booking.location_text
    if location:
        lines.append(f"LOCATION:{_text(location)}")
    lines.append(_address_line("ORGANIZER", booking.host.email, host_name))
    lines.append(f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}")
    if url:
        lines.append(f"URL:{vUri(url).to_ical().decode()}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return b"\r\n".join(_folded(line) for line in lines) + b"\r\n"


# What a TEXT value escapes (RFC 5545 3.3.11, as ``vText`` does); a parameter value's
# RFC 6868 escapes; and what makes icalendar quote a parameter value (``dquote``, and for
# CN also a space or an apostrophe: ``Parameters.quote_also``).
_TEXT_SPECIAL = re.compile(r"[\\;,\r\n]")
_PARAM_ESCAPE = re.compile(r'\^|\r\n|\r|\n|"')
_PARAM_ESCAPES = {"^": "^^", "\r\n": "^n", "\r": "^n", "\n": "^n", '"': "^'"}
_PARAM_QUOTED = re.compile("[,;:\u2019]")
_CN_QUOTED = re.compile("[,;:\u2019 ']")


def _text(value: str) -> str:
    """A TEXT value as ``vText`` writes it: backslash, semicolon and comma escaped, every
    line break (CRLF, LF or a lone CR) as ``\\n``, a written ``\\N`` taken as one."""
    if not _TEXT_SPECIAL.search(value):
        return value
    return (
        value.replace("\\N", "\n")
        .replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def _utc(moment: datetime) -> str:
    """As ``vDatetime`` writes a UTC time (seconds, no fraction, "Z"), without its time zone
    lookup (about 40 Python calls; three times per .ics)."""
    utc = moment.astimezone(UTC)
    return f"{utc.year:04}{utc.month:02}{utc.day:02}T{utc.hour:02}{utc.minute:02}{utc.second:02}Z"


def _address_line(name: str, email: str, person: str, *, role: str = "") -> str:
    """An ATTENDEE or ORGANIZER line as icalendar writes a ``vCalAddress`` with its
    parameters (CN when there is a name, ROLE when given; sorted): ``mailto:`` and the
    address, which may not hold a line break (``ValueError``, as ``vCalAddress`` raises)."""
    if "\r" in email or "\n" in email:
        raise ValueError(f"A CAL-ADDRESS value may not contain CR or LF characters: {email!r}")
    params = []
    if person:
        params.append(f"CN={_param(person, _CN_QUOTED)}")
    if role:
        params.append(f"ROLE={_param(role, _PARAM_QUOTED)}")
    return ";".join([name, *params]) + f":mailto:{email}"


def _param(value: str, quoted_when: re.Pattern) -> str:
    """A parameter's value as icalendar writes it (``param_value``): RFC 6868's escapes
    (``^^``, ``^n``, ``^'``), in double quotes when ``quoted_when`` finds a character
    that asks for them (in the value as given, and a comma, semicolon, colon or right
    single quotation mark after escaping)."""
    escaped = _PARAM_ESCAPE.sub(_param_escape, value) if _PARAM_ESCAPE.search(value) else value
    if quoted_when.search(value) or _PARAM_QUOTED.search(escaped):
        return f'"{escaped}"'
    return escaped


def _param_escape(match: re.Match) -> str:
    return _PARAM_ESCAPES[match.group(0)]


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
