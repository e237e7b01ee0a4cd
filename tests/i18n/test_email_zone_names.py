"""Emails name a time zone as the pages do, in the reader's language, with its UTC offset
("Central European Time — Paris (UTC+1)", "Mitteleuropäische Zeit — Paris (UTC+1)"),
never by its IANA id; the attached .ics keeps machine times (UTC)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from django.core import mail

from booking.clock import offset_text
from booking.emails import send_reschedule_request
from booking.models import Booking, InviteeReminder
from booking.reminders import reminder_send
from booking.tokens import booking_paths
from tests.support.booking import at, book, workday

NAMES = {
    "en": {
        "Europe/Paris": "Central European Time \N{EM DASH} Paris",
        "Europe/London": "United Kingdom Time \N{EM DASH} London",
    },
    "de": {
        "Europe/Paris": "Mitteleuropäische Zeit \N{EM DASH} Paris",
        "Europe/London": "Vereinigtes Königreich (Ortszeit) \N{EM DASH} London",
    },
}
ACCEPT = {"en": "en-US,en;q=0.9", "de": "de-DE,de;q=0.9"}


def _named(zone: str, language: str, booking: Booking) -> str:
    offset = offset_text(booking.start.astimezone(ZoneInfo(zone)))
    return f"{NAMES[language][zone]} ({offset})"


def _book(client, page, language: str, capture) -> Booking:
    page.host.language = "" if language == "en" else language
    page.host.save(update_fields=["language"])
    start = at(workday("Europe/London", days_ahead=3), 14)
    with capture(execute=True):
        answer = book(
            client,
            page.slug,
            start=start,
            timezone="Europe/Paris",
            HTTP_ACCEPT_LANGUAGE=ACCEPT[language],
        )
    assert answer.status_code == 201
    return Booking.objects.get()


def _check(message, *, zone: str, language: str, booking: Booking) -> None:
    named = _named(zone, language, booking)
    assert named in message.body
    assert named in message.subject
    for text in (message.body, message.subject):
        assert "Europe/" not in text


def _by_recipient(outbox) -> dict[str, object]:
    return {message.to[0]: message for message in outbox}


@pytest.mark.usefixtures("email_tasks_in_process")
@pytest.mark.parametrize("language", ["en", "de"])
def test_booking_emails_name_each_readers_zone_in_their_language(
    client, page, language, django_capture_on_commit_callbacks
):
    booking = _book(client, page, language, django_capture_on_commit_callbacks)
    sent = _by_recipient(mail.outbox)
    _check(sent["dana@example.com"], zone="Europe/Paris", language=language, booking=booking)
    _check(sent["alice@example.com"], zone="Europe/London", language=language, booking=booking)
    ics = icalendar.Calendar.from_ical(sent["dana@example.com"].attachments[0][1])
    event = ics.walk("VEVENT")[0]
    assert event.decoded("DTSTART") == booking.start
    assert event.decoded("DTSTART").utcoffset() == timedelta(0)
    assert NAMES[language]["Europe/Paris"] not in sent["dana@example.com"].attachments[0][1]

    links = booking_paths(booking)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        moved = client.post(
            links["reschedule"], {"start": (booking.start + timedelta(hours=1)).isoformat()}
        )
    assert moved.status_code == 302
    booking.refresh_from_db()
    sent = _by_recipient(mail.outbox)
    _check(sent["dana@example.com"], zone="Europe/Paris", language=language, booking=booking)
    _check(sent["alice@example.com"], zone="Europe/London", language=language, booking=booking)

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(links["cancel"], {"reason": ""})
    sent = _by_recipient(mail.outbox)
    _check(sent["dana@example.com"], zone="Europe/Paris", language=language, booking=booking)
    _check(sent["alice@example.com"], zone="Europe/London", language=language, booking=booking)


@pytest.mark.parametrize("language", ["en", "de"])
def test_reminders_and_reschedule_requests_name_the_zone(
    client, page, language, django_capture_on_commit_callbacks
):
    booking = _book(client, page, language, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    row = InviteeReminder.objects.filter(booking=booking).order_by("offset_minutes").first()
    reminder_send(reminder_id=row.pk, now=row.due_at)
    assert send_reschedule_request(booking_pk=booking.pk, note="")
    reminder, request = mail.outbox
    _check(reminder, zone="Europe/Paris", language=language, booking=booking)
    named = _named("Europe/Paris", language, booking)
    assert request.subject.count(named) == 1
    assert named in request.body
    assert "Europe/" not in request.body + request.subject
