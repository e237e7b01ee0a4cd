"""Emails about bookings, to the invitee and to the host, each with an .ics attachment.

Sent by a Celery task (``booking.tasks.deliver_booking_emails``) for the outbox
row a booking event wrote (``booking.email_outbox``): a slow or down mail server
(or broker) never blocks or undoes a booking, and a failed send is tried again.
"""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from booking.email_bodies import body_render
from booking.ics import booking_ics
from booking.locales import (
    DEFAULT_LOCALE,
    DEFAULT_REGIONS,
    day_text,
    language_of,
    moment_text,
    span_text,
    time_text,
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
    if who == "invitee":
        to, reply_to, other = (
            booking.invitee_email,
            booking.host.email,
            booking.host.get_full_name(),
        )
        zone, locale = booking.invitee_time_zone, booking.invitee_locale
    else:
        to, reply_to, other = booking.host.email, booking.invitee_email, booking.invitee_name
        zone, locale = booking.host.time_zone, host_locale(booking.host)
    previous = previous_host.get_full_name() if previous_host is not None else ""
    # To the member a move handed the meeting to, it is a new one.
    subject = SUBJECTS["confirmed" if previous and who == "host" else kind]

    def body(shown: dict) -> str:
        return _notice_body(
            shown,
            flags={"kind": kind, "who": who, "by_host": actor == "host"},
            other=other,
            previous=previous,
            join_url=join_url,
        )

    def ics(links: dict[str, str]) -> bytes:
        description = _ics_description(booking, links, join_url)
        return booking_ics(
            booking=booking, for_host=who == "host", description=description, url=join_url
        )

    _email_send(
        booking,
        to=to,
        reply_to=reply_to,
        zone=zone,
        locale=locale,
        subject=subject,
        names={"title": booking.title, "other": other},
        body=body,
        ics=ics,
        connection=connection,
    )
    return True


NOTICE = "booking/email/notice.txt"


def _notice_body(shown: dict, *, flags: dict, other: str, previous: str, join_url: str) -> str:
    """The confirmation's, move's or cancellation's text (``NOTICE``), rendered once per
    language and shape and filled in (``booking.email_bodies``): every value it shows is
    worked out here, in the reader's language, zone and locale."""
    booking: Booking = shown["booking"]
    locale = shown["locale"]
    was = booking.rescheduled_from_start if flags["kind"] == "rescheduled" else None
    if was is not None:
        was = was.astimezone(shown["start"].tzinfo)
    answers = "".join(
        f"{item['question']}: {item['answer']}\n" for item in booking.answers if item["answer"]
    )
    texts = {
        "other": other,
        "previous": previous,
        "title": booking.title,
        "when": span_text(shown["start"], shown["end"], locale),
        "zone_text": shown["zone_text"],
        "previous_day": day_text(was, locale) if was else "",
        "previous_time": time_text(was, locale) if was else "",
        "where": booking.location_text,
        "join_url": join_url,
        "invitee_name": booking.invitee_name,
        "invitee_email": booking.invitee_email,
        "answers": answers,
        "cancel_reason": booking.cancel_reason,
        "reschedule_link": shown["links"]["reschedule"],
        "cancel_link": shown["links"]["cancel"],
    }
    return body_render(NOTICE, flags=flags, texts=texts)


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
    host = booking.host.get_full_name()
    _email_send(
        booking,
        to=booking.invitee_email,
        reply_to=booking.host.email,
        zone=booking.invitee_time_zone,
        locale=booking.invitee_locale,
        subject=_("%(host)s asks you to pick another time for %(title)s on %(when)s"),
        names={"host": host, "title": booking.title},
        template="booking/email/reschedule_request.txt",
        context={"host": host, "note": note},
        connection=connection,
    )
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
        zone, locale = booking.host.time_zone, host_locale(booking.host)
    else:
        to, reply_to = booking.invitee_email, booking.host.email
        other = booking.host.get_full_name()
        zone, locale = booking.invitee_time_zone, booking.invitee_locale
    if changed:
        subject = _("New join link: %(title)s with %(host)s")
    else:
        subject = _("Join link: %(title)s with %(host)s")
    _email_send(
        booking,
        to=to,
        reply_to=reply_to,
        zone=zone,
        locale=locale,
        subject=subject,
        names={"title": booking.title, "host": other},
        template="booking/email/join_link.txt",
        context={"who": who, "host": other, "join_url": join_url, "changed": changed},
        connection=connection,
    )
    return True


def send_join_link_dropped(*, booking: Booking, connection=None) -> bool:
    """Tell the invitee that their meeting no longer has a Microsoft Teams link (the one
    they were sent no longer works) and where it takes place now. False (nothing sent)
    when the booking is cancelled or over, or has a join link again."""
    from booking.reminders import join_url_for

    if not booking.is_confirmed or booking.end <= timezone.now() or join_url_for(booking=booking):
        return False
    host = booking.host.get_full_name()
    _email_send(
        booking,
        to=booking.invitee_email,
        reply_to=booking.host.email,
        zone=booking.invitee_time_zone,
        locale=booking.invitee_locale,
        subject=_("No Teams link any more: %(title)s with %(host)s"),
        names={"title": booking.title, "host": host},
        template="booking/email/join_link_dropped.txt",
        context={"host": host, "where": lambda: _place_without_link(booking)},
        connection=connection,
    )
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
    new_host = booking.host.get_full_name()
    _email_send(
        booking,
        to=previous_host.email,
        reply_to=booking.host.email,
        zone=zone,
        locale=host_locale(previous_host),
        subject=_("Handed over: %(title)s with %(invitee)s is now with %(host)s"),
        names={"title": booking.title, "invitee": booking.invitee_name, "host": new_host},
        template="booking/email/handed_over.txt",
        context={
            "invitee": booking.invitee_name,
            "new_host": new_host,
            "reason": reason,
            "previous_start": (booking.rescheduled_from_start or booking.start).astimezone(
                ZoneInfo(zone)
            ),
        },
        connection=connection,
    )
    return True


def _email_send(
    booking: Booking,
    *,
    to: str,
    reply_to: str,
    zone: str,
    locale: str,
    subject,
    names: dict[str, str],
    template: str = "",
    context: dict | None = None,
    body: Callable[[dict], str] | None = None,
    ics: Callable[[dict[str, str]], bytes] | None = None,
    connection=None,
) -> None:
    """Send one email about ``booking`` to ``to``, in ``locale``'s language, its times in
    ``zone``: ``template`` rendered with what every booking email shows (the booking, its
    start and end, the zone's name, the invitee's links) and ``context`` (a callable value
    is worked out in that language); ``subject`` % ``names`` (and ``when``, the start), on
    one line: a line break from a name or title saved earlier would make Django refuse the
    whole message. ``body``: makes the text instead of ``template`` from what every booking
    email shows. ``ics``: makes the .ics to attach from the invitee's links. A mail server
    error is raised."""
    tz = ZoneInfo(zone)
    start = booking.start.astimezone(tz)
    with translation.override(language_of(locale)):
        shown = {
            "booking": booking,
            "locale": locale,
            "start": start,
            "end": booking.end.astimezone(tz),
            "zone": zone,
            "zone_text": zone_text(zone, booking.start, locale),
            "links": _links(booking),
        }
        if body is not None:
            text = body(shown)
        else:
            for key, value in (context or {}).items():
                shown[key] = value() if callable(value) else value
            text = render_to_string(template, shown)
        words = subject % {"when": moment_text(start, zone, locale), **names}
        message = Email(
            subject=" ".join(words.split()),
            body=text,
            to=[to],
            reply_to=[reply_to],
            connection=connection,
        )
        if ics is not None:
            message.attach("invite.ics", ics(shown["links"]), "text/calendar")
        message.send()


def _links(booking: Booking) -> dict[str, str]:
    """The invitee's cancel and reschedule links (whole addresses)."""
    return {key: settings.SITE_URL + path for key, path in booking_paths(booking).items()}


def _place_without_link(booking: Booking) -> str:
    """Where a meeting that lost its Teams link takes place: the page's location when it is
    no longer a Teams page, else an online meeting whose link the host gives (the page's
    details, if any)."""
    page = booking.page
    if page is not None and page.location_kind and page.location_kind != LocationKind.TEAMS:
        return location_wording(page.location_kind, page.location_details)
    details = page.location_details if page is not None else booking.location_details
    return location_wording(LocationKind.TEAMS, details, no_join_link=True)


def _ics_description(booking: Booking, links: dict[str, str], join_url: str = "") -> str:
    """The .ics's description, in the active language (looked up as it is written: a lazy
    string's ``%`` costs about 20 Python calls more, three times an email)."""
    lines = []
    if join_url:
        lines.append(gettext("Join the Microsoft Teams meeting: %(link)s") % {"link": join_url})
    lines += [f"{item['question']}: {item['answer']}" for item in booking.answers if item["answer"]]
    lines += [
        gettext("Cancel: %(link)s") % {"link": links["cancel"]},
        gettext("Reschedule: %(link)s") % {"link": links["reschedule"]},
    ]
    return "\n".join(lines)
