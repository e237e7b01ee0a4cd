"""Emails about bookings, to the invitee and to the host, each with an .ics attachment.

Sent by a Celery task (``booking.tasks.deliver_booking_emails``) for the outbox
row a booking event wrote (``booking.email_outbox``): a slow or down mail server
(or broker) never blocks or undoes a booking, and a failed send is tried again.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from booking.ics import booking_ics
from booking.locales import (
    DEFAULT_LOCALE,
    DEFAULT_REGIONS,
    language_of,
    moment_text,
    zone_text,
)
from booking.models import Booking, LocationKind, location_wording
from booking.tokens import booking_paths
from ops.mail import Email

SUBJECTS = {
    "confirmed": _("Confirmed: %(title)s with %(other)s on %(when)s"),
    "rescheduled": _("Rescheduled: %(title)s with %(other)s, now %(when)s"),
    "cancelled": _("Cancelled: %(title)s with %(other)s on %(when)s"),
}


RECIPIENTS = ("invitee", "host")

# Seconds before each retry of an email the mail server refused or could not take (about
# five hours in all). Each stays well below Redis's visibility timeout
# (settings.REDIS_VISIBILITY_TIMEOUT): a retry waiting longer is delivered twice.
EMAIL_RETRY_DELAYS = (30, 120, 600, 1800) + (2700,) * 6


def send_booking_email(
    *,
    booking_pk: int,
    kind: str,
    who: str,
    actor: str = "invitee",
    booking: Booking | None = None,
    previous_host=None,
    join_url: str = "",
    connection=None,
) -> bool:
    """Tell the invitee or the host that a booking was confirmed, rescheduled or cancelled
    (by ``actor``: the wording says who did it). ``booking``: the booking ``booking_pk``
    names, with its host, if the caller just read it (else it is read here).
    ``previous_host``: a move gave the meeting to its host, and this member had it; the
    invitee is told it changed hands, and the host gets it as a new meeting of theirs.
    ``join_url``: the online meeting's join link, in the text and the .ics ("" for none).

    Returns False when the booking no longer exists. A mail server error is raised
    (smtplib.SMTPException or OSError) so that the caller can try again later.
    """
    if booking is None:
        booking = Booking.objects.select_related("host", "page").filter(pk=booking_pk).first()
    if booking is None:
        return False
    links = {key: settings.SITE_URL + path for key, path in booking_paths(booking).items()}
    if who == "invitee":
        to, zone, other = (
            booking.invitee_email,
            booking.invitee_time_zone,
            booking.host.get_full_name(),
        )
        locale = booking.invitee_locale
    else:
        to, zone, other = booking.host.email, booking.host.time_zone, booking.invitee_name
        locale = host_locale(booking.host)
    with translation.override(language_of(locale)):
        description = _ics_description(booking, links, join_url)
        ics = booking_ics(
            booking=booking, for_host=who == "host", description=description, url=join_url
        )
        _send_one(
            booking,
            kind=kind,
            who=who,
            to=to,
            zone=zone,
            other=other,
            links=links,
            ics=ics,
            locale=locale,
            by_host=actor == "host",
            previous=previous_host.get_full_name() if previous_host is not None else "",
            join_url=join_url,
            connection=connection,
        )
    return True


def host_locale(host) -> str:
    """A host reads emails in their Profile language (English when they chose none)."""
    return DEFAULT_REGIONS.get(host.language or "en", DEFAULT_LOCALE)


def send_reschedule_request(*, booking_pk: int, note: str, connection=None) -> bool:
    """Ask the invitee to pick another time: their reschedule link and the host's note.

    The booking stays as it is until they move it. False when the booking is gone.
    """
    booking = Booking.objects.select_related("host", "page").filter(pk=booking_pk).first()
    if booking is None:
        return False
    zone = ZoneInfo(booking.invitee_time_zone)
    start = booking.start.astimezone(zone)
    host = booking.host.get_full_name()
    locale = booking.invitee_locale
    links = {key: settings.SITE_URL + path for key, path in booking_paths(booking).items()}
    context = {
        "booking": booking,
        "host": host,
        "start": start,
        "end": booking.end.astimezone(zone),
        "zone": booking.invitee_time_zone,
        "zone_text": zone_text(booking.invitee_time_zone, booking.start, locale),
        "links": links,
        "note": note,
        "locale": locale,
    }
    with translation.override(language_of(locale)):
        when = moment_text(start, booking.invitee_time_zone, locale)
        subject = _("%(host)s asks you to pick another time for %(title)s on %(when)s") % {
            "host": host,
            "title": booking.title,
            "when": when,
        }
        Email(
            subject=" ".join(subject.split()),
            body=render_to_string("booking/email/reschedule_request.txt", context),
            to=[booking.invitee_email],
            reply_to=[booking.host.email],
            connection=connection,
        ).send()
    return True


def send_join_link(
    *,
    booking_pk: int,
    booking: Booking | None = None,
    who: str = "invitee",
    changed: bool = False,
    connection=None,
) -> bool:
    """The follow-up to ``who`` (the invitee, or the host): the online meeting's join link,
    once Outlook made it after the confirmation went, or (``changed``, the invitee only)
    its new link after the meeting was made again. Either way the link sent is the
    booking's join link now (``join_url_for``).

    False (nothing sent) when the booking is gone, cancelled, over, or has no link.
    ``booking``: the booking ``booking_pk`` names, with its host, if the caller just read
    it (else it is read here).
    """
    from booking.reminders import join_url_for

    if booking is None:
        booking = Booking.objects.select_related("host").filter(pk=booking_pk).first()
    if booking is None or not booking.is_confirmed or booking.end <= timezone.now():
        return False
    join_url = join_url_for(booking=booking)
    if not join_url:
        return False
    if who == "host":
        to, reply_to, other = booking.host.email, booking.invitee_email, booking.invitee_name
        zone_name, locale = booking.host.time_zone, host_locale(booking.host)
    else:
        to, reply_to = booking.invitee_email, booking.host.email
        other = booking.host.get_full_name()
        zone_name, locale = booking.invitee_time_zone, booking.invitee_locale
    zone = ZoneInfo(zone_name)
    links = {key: settings.SITE_URL + path for key, path in booking_paths(booking).items()}
    context = {
        "booking": booking,
        "who": who,
        "host": other,
        "start": booking.start.astimezone(zone),
        "end": booking.end.astimezone(zone),
        "zone": zone_name,
        "zone_text": zone_text(zone_name, booking.start, locale),
        "locale": locale,
        "join_url": join_url,
        "links": links,
        "changed": changed,
    }
    with translation.override(language_of(locale)):
        names = {"title": booking.title, "host": other}
        if changed:
            subject = _("New join link: %(title)s with %(host)s") % names
        else:
            subject = _("Join link: %(title)s with %(host)s") % names
        Email(
            subject=" ".join(subject.split()),
            body=render_to_string("booking/email/join_link.txt", context),
            to=[to],
            reply_to=[reply_to],
            connection=connection,
        ).send()
    return True


def send_join_link_dropped(*, booking: Booking, connection=None) -> bool:
    """Tell the invitee that their meeting no longer has a Microsoft Teams link (the one
    they were sent no longer works) and where it takes place now. False (nothing sent)
    when the booking is cancelled or over, or has a join link again."""
    from booking.reminders import join_url_for

    if not booking.is_confirmed or booking.end <= timezone.now() or join_url_for(booking=booking):
        return False
    zone = ZoneInfo(booking.invitee_time_zone)
    locale = booking.invitee_locale
    links = {key: settings.SITE_URL + path for key, path in booking_paths(booking).items()}
    host = booking.host.get_full_name()
    with translation.override(language_of(locale)):
        context = {
            "booking": booking,
            "host": host,
            "start": booking.start.astimezone(zone),
            "end": booking.end.astimezone(zone),
            "zone": booking.invitee_time_zone,
            "zone_text": zone_text(booking.invitee_time_zone, booking.start, locale),
            "locale": locale,
            "links": links,
            "where": _place_without_link(booking),
        }
        subject = _("No Teams link any more: %(title)s with %(host)s") % {
            "title": booking.title,
            "host": host,
        }
        Email(
            subject=" ".join(subject.split()),
            body=render_to_string("booking/email/join_link_dropped.txt", context),
            to=[booking.invitee_email],
            reply_to=[booking.host.email],
            connection=connection,
        ).send()
    return True


def send_handover_notice(
    *, booking_pk: int, previous_host, reason: str, booking: Booking | None = None, connection=None
) -> bool:
    """Tell ``previous_host`` that a move handed their round-robin meeting to the booking's
    host now, and why (``reason``: ``not_a_member`` of the page any more, or their
    calendar ``not_connected``). No .ics: their Outlook event is taken away for them.

    False (nothing sent) when the booking or the member is gone. A mail server error is
    raised, as ``send_booking_email`` does.
    """
    if booking is None:
        booking = Booking.objects.select_related("host").filter(pk=booking_pk).first()
    if booking is None or previous_host is None:
        return False
    zone = previous_host.time_zone
    tz = ZoneInfo(zone)
    locale = host_locale(previous_host)
    names = {
        "title": booking.title,
        "invitee": booking.invitee_name,
        "host": booking.host.get_full_name(),
    }
    context = {
        "booking": booking,
        "invitee": booking.invitee_name,
        "new_host": names["host"],
        "reason": reason,
        "start": booking.start.astimezone(tz),
        "end": booking.end.astimezone(tz),
        "previous_start": (booking.rescheduled_from_start or booking.start).astimezone(tz),
        "zone": zone,
        "zone_text": zone_text(zone, booking.start, locale),
        "locale": locale,
    }
    with translation.override(language_of(locale)):
        subject = _("Handed over: %(title)s with %(invitee)s is now with %(host)s") % names
        Email(
            subject=" ".join(subject.split()),
            body=render_to_string("booking/email/handed_over.txt", context),
            to=[previous_host.email],
            reply_to=[booking.host.email],
            connection=connection,
        ).send()
    return True


def _place_without_link(booking: Booking) -> str:
    """Where a meeting that lost its Teams link takes place: the page's location when it is
    no longer a Teams page, else an online meeting whose link the host gives (the page's
    details, if any)."""
    page = booking.page
    if page is not None and page.location_kind and page.location_kind != LocationKind.TEAMS:
        return location_wording(page.location_kind, page.location_details)
    details = page.location_details if page is not None else booking.location_details
    return location_wording(LocationKind.TEAMS, details, no_join_link=True)


def _send_one(
    booking,
    *,
    kind,
    who,
    to,
    zone,
    other,
    links,
    ics,
    locale,
    by_host=False,
    previous="",
    join_url="",
    connection=None,
) -> None:
    tz = ZoneInfo(zone)
    start, end = booking.start.astimezone(tz), booking.end.astimezone(tz)
    when = moment_text(start, zone, locale)
    context = {
        "locale": locale,
        "booking": booking,
        "kind": kind,
        "who": who,
        "other": other,
        "start": start,
        "end": end,
        "zone": zone,
        "zone_text": zone_text(zone, booking.start, locale),
        "links": links,
        "previous_start": booking.rescheduled_from_start,
        "by_host": by_host,
        "previous": previous,
        "join_url": join_url,
    }
    # To the member a move handed the meeting to, it is a new one.
    subject = SUBJECTS["confirmed" if previous and who == "host" else kind]
    message = Email(
        # One line: a line break from a name or title saved earlier would make
        # Django refuse the whole message.
        subject=" ".join(
            (subject % {"title": booking.title, "other": other, "when": when}).split()
        ),
        body=render_to_string("booking/email/notice.txt", context),
        to=[to],
        reply_to=[booking.host.email if who == "invitee" else booking.invitee_email],
        connection=connection,
    )
    message.attach("invite.ics", ics, "text/calendar")
    message.send()


def _ics_description(booking: Booking, links: dict[str, str], join_url: str = "") -> str:
    lines = []
    if join_url:
        lines.append(_("Join the Microsoft Teams meeting: %(link)s") % {"link": join_url})
    lines += [f"{item['question']}: {item['answer']}" for item in booking.answers if item["answer"]]
    lines += [
        _("Cancel: %(link)s") % {"link": links["cancel"]},
        _("Reschedule: %(link)s") % {"link": links["reschedule"]},
    ]
    return "\n".join(lines)
