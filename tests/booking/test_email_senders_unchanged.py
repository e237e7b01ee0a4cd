"""Every booking email, as it goes on the wire, is the same bytes as the ones recorded in
``data/booking_emails.json``: each sender of ``booking/emails.py`` (confirmed, rescheduled,
cancelled to each side, by the host, handed over; the ask to reschedule; the join link,
first and changed; the dropped link; the handover notice), in English and in German; and
every reminder (``booking/reminders.py``, to the invitee: without and with a join link, in a
place) in ``data/reminder_emails.json``.

Recorded from the senders before they shared one helper; a change to what an email says
is a change to that file: ``UPDATE_EMAIL_RECORDS=1`` writes it again (then read its diff).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone

from booking import reminders
from booking.emails import (
    send_booking_email,
    send_handover_notice,
    send_join_link,
    send_join_link_dropped,
    send_reschedule_request,
)
from booking.models import Booking, InviteeReminder, LocationKind, ReminderState
from booking.reminders import reminder_send
from booking.services.bookings import Invitee, booking_create
from outbox.outcomes import Status
from tests.support.booking import at, workday

pytestmark = pytest.mark.django_db

RECORDS = Path(__file__).with_name("data") / "booking_emails.json"
REMINDER_RECORDS = Path(__file__).with_name("data") / "reminder_emails.json"
NOW = datetime(2031, 3, 1, 8, 0, tzinfo=UTC)
START = datetime(2031, 4, 1, 9, 30, tzinfo=UTC)
LINK = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_golden%40thread.v2/0"
# What differs between two sendings of one email: its date, its id, its parts' boundary.
VARYING = [
    (re.compile(rb"^Date: .*$", re.M), b"Date: -"),
    (re.compile(rb"^Message-ID: .*$", re.M), b"Message-ID: -"),
    (re.compile(rb"={15}\d+=="), b"=boundary="),
]


@pytest.fixture
def booking(settings, monkeypatch, page, host):
    settings.SECRET_KEY = "recorded-emails-secret"
    settings.SITE_URL = "https://book.example"
    made = booking_create(
        page=page,
        start=at(workday("Europe/London"), 10),
        invitee=Invitee("Dana Invitee", "dana@example.com", "Asia/Kolkata"),
    )
    Booking.objects.filter(pk=made.pk).update(
        uuid=uuid.UUID("5f0c2a8e-1b7d-4c3e-9a6f-0d2e4b8c1a37"),
        start=START,
        end=START + timedelta(minutes=30),
        rescheduled_from_start=START - timedelta(days=1),
        answers=[{"question": "Company", "answer": "Contoso"}],
        location_details="",
    )
    monkeypatch.setattr(timezone, "now", lambda: NOW)  # the .ics's DTSTAMP
    return Booking.objects.select_related("host", "page").get(pk=made.pk)


def _wire(message) -> str:
    raw = message.message().as_bytes()
    for pattern, fixed in VARYING:
        raw = pattern.sub(fixed, raw)
    return raw.decode("utf-8")  # 8-bit parts are UTF-8, headers ASCII


def _sent(send, monkeypatch, *, link: str) -> str:
    monkeypatch.setattr(reminders, "join_url_for", lambda *, booking: link)
    mail.outbox.clear()
    assert send() is True
    [message] = mail.outbox
    return _wire(message)


def _every_email(booking: Booking, teammate, monkeypatch) -> dict[str, str]:
    pk = booking.pk
    sends = {
        "handed_over": (
            lambda: send_handover_notice(
                booking_pk=pk, previous_host=teammate, reason="not_a_member"
            ),
            "",
        ),
        "reschedule_request": (
            lambda: send_reschedule_request(booking_pk=pk, note="Could we meet later?"),
            "",
        ),
        "join_link_dropped": (lambda: send_join_link_dropped(booking=booking), ""),
    }
    for who in ("invitee", "host"):
        for kind in ("confirmed", "rescheduled", "cancelled"):
            sends[f"{kind}-{who}"] = (
                lambda kind=kind, who=who: send_booking_email(
                    booking_pk=pk, kind=kind, who=who, join_url=LINK if kind == "confirmed" else ""
                ),
                "",
            )
        sends[f"rescheduled-by-host-{who}"] = (
            lambda who=who: send_booking_email(
                booking_pk=pk, kind="rescheduled", who=who, actor="host", previous_host=teammate
            ),
            "",
        )
        sends[f"join_link-{who}"] = (lambda who=who: send_join_link(booking_pk=pk, who=who), LINK)
    sends["join_link_changed-invitee"] = (
        lambda: send_join_link(booking_pk=pk, changed=True),
        LINK,
    )
    return {name: _sent(send, monkeypatch, link=link) for name, (send, link) in sends.items()}


def test_every_booking_email_is_the_bytes_recorded(booking, host, teammate, monkeypatch):
    emails = {}
    for language, locale in (("en", "en-GB"), ("de", "de-DE")):
        for person in (host, teammate):
            person.language = language
            person.save(update_fields=["language"])
        Booking.objects.filter(pk=booking.pk).update(invitee_locale=locale)
        booking.refresh_from_db()
        for name, wire in _every_email(booking, teammate, monkeypatch).items():
            emails[f"{language} {name}"] = wire
    _as_recorded(emails, RECORDS)


def _as_recorded(emails: dict[str, str], records: Path) -> None:
    if os.environ.get("UPDATE_EMAIL_RECORDS") == "1":
        records.write_text(json.dumps(emails, indent=1, ensure_ascii=False) + "\n")
    recorded = json.loads(records.read_text())
    assert list(emails) == list(recorded)
    for name, wire in emails.items():
        assert wire == recorded[name], name


def _reminder_sent(booking: Booking, monkeypatch, *, link: str) -> str:
    """The day-before reminder as ``reminder_send`` sends it (its row made due again)."""
    row = InviteeReminder.objects.get(booking=booking, offset_minutes=1440)
    InviteeReminder.objects.filter(pk=row.pk).update(
        state=ReminderState.PENDING, attempts=0, next_attempt_at=row.due_at, sent_at=None
    )
    monkeypatch.setattr(reminders, "join_url_for", lambda *, booking: link)
    mail.outbox.clear()
    assert reminder_send(reminder_id=row.pk, now=row.due_at).status == Status.SYNCED
    [message] = mail.outbox
    return _wire(message)


def test_every_reminder_email_is_the_bytes_recorded(booking, monkeypatch):
    emails = {}
    for language, locale in (("en", "en-GB"), ("de", "de-DE")):
        Booking.objects.filter(pk=booking.pk).update(invitee_locale=locale)
        booking.refresh_from_db()
        emails[f"{language} reminder"] = _reminder_sent(booking, monkeypatch, link="")
        emails[f"{language} reminder-join_link"] = _reminder_sent(booking, monkeypatch, link=LINK)
        place = Booking.objects.filter(pk=booking.pk)
        place.update(location_kind=LocationKind.IN_PERSON, location_details="Main St 5, Köln")
        emails[f"{language} reminder-place"] = _reminder_sent(booking, monkeypatch, link="")
        place.update(location_kind=booking.location_kind, location_details="")
    _as_recorded(emails, REMINDER_RECORDS)
