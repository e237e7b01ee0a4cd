"""Emails about bookings, to the invitee and to the host, each with an .ics attachment.

Sent after the booking's transaction commits. A mail server that is down never
undoes or blocks a booking: failures are logged and the booking stands.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from booking.ics import booking_ics
from booking.models import Booking
from booking.tokens import booking_paths

log = logging.getLogger(__name__)

SUBJECTS = {
    "confirmed": "Confirmed: {title} with {other} on {when}",
    "rescheduled": "Rescheduled: {title} with {other}, now {when}",
    "cancelled": "Cancelled: {title} with {other} on {when}",
}


def send_booking_emails(*, booking_pk: int, kind: str) -> None:
    """Tell the invitee and the host that a booking was confirmed, rescheduled or cancelled."""
    booking = Booking.objects.select_related("host", "page").get(pk=booking_pk)
    links = {key: settings.SITE_URL + path for key, path in booking_paths(booking).items()}
    ics = booking_ics(booking=booking, description=_ics_description(booking, links))
    recipients = [
        ("invitee", booking.invitee_email, booking.invitee_time_zone, booking.host.get_full_name()),
        ("host", booking.host.email, booking.host.time_zone, booking.invitee_name),
    ]
    for who, address, zone, other in recipients:
        try:
            _send_one(
                booking,
                kind=kind,
                who=who,
                to=address,
                zone=zone,
                other=other,
                links=links,
                ics=ics,
            )
        except Exception:  # the mail server's problem must not become the invitee's
            log.exception("booking %s: the %s email to the %s failed", booking.uuid, kind, who)


def _send_one(booking, *, kind, who, to, zone, other, links, ics) -> None:
    tz = ZoneInfo(zone)
    start, end = booking.start.astimezone(tz), booking.end.astimezone(tz)
    when = f"{start:%A %-d %B %Y, %H:%M} ({zone})"
    context = {
        "booking": booking,
        "kind": kind,
        "who": who,
        "other": other,
        "start": start,
        "end": end,
        "zone": zone,
        "links": links,
        "previous_start": booking.rescheduled_from_start,
    }
    message = EmailMultiAlternatives(
        # One line: a line break from a name or title saved earlier would make
        # Django refuse the whole message.
        subject=" ".join(
            SUBJECTS[kind].format(title=booking.title, other=other, when=when).split()
        ),
        body=render_to_string("booking/email/notice.txt", context),
        to=[to],
        reply_to=[booking.host.email if who == "invitee" else booking.invitee_email],
    )
    message.attach("invite.ics", ics, "text/calendar")
    message.send()


def _ics_description(booking: Booking, links: dict[str, str]) -> str:
    lines = [f"{item['question']}: {item['answer']}" for item in booking.answers if item["answer"]]
    lines += [f"Cancel: {links['cancel']}", f"Reschedule: {links['reschedule']}"]
    return "\n".join(lines)
