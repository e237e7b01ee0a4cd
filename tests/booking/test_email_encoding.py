"""Booking emails mean what they say however they are encoded: the subject decodes to the
reader's words, the .ics is icalendar's own output with every line folded to 75 octets."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from zoneinfo import ZoneInfo

import icalendar
import pytest
from django.core import mail
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from booking.locales import moment_text
from booking.models import Booking, Question
from ops.mail import Email
from tests.support.booking import at, book, workday
from tests.support.ics_reference import booking_calendar, ical_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("email_tasks_in_process")]

TITLE = "Größenberatung für Ärztinnen — Überblick über Maßnahmen und Abläufe im Jahr"
LONG_ANSWER = "Grüße aus Köln; Frage zu Schätzungen, Kosten \\ Gebühren: " + "äöü€😀x" * 30


def _german_booking(client, page, django_capture_on_commit_callbacks) -> Booking:
    page.title = TITLE
    page.save(update_fields=["title"])
    question = Question.objects.create(page=page, label="Anliegen (ausführlich)", kind="text")
    with django_capture_on_commit_callbacks(execute=True):
        answer = book(
            client,
            page.slug,
            start=at(workday("Europe/London", days_ahead=3), 14),
            name="Jürgen Groß",
            timezone="Europe/Berlin",
            answers={str(question.pk): LONG_ANSWER},
            HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9",
        )
    assert answer.status_code == 201, answer.content
    return Booking.objects.select_related("host").get()


def _decoded(value: str) -> str:
    return str(make_header(decode_header(value)))


def test_a_german_subject_with_a_non_ascii_title_decodes_to_the_readers_words(
    client, page, django_capture_on_commit_callbacks
):
    booking = _german_booking(client, page, django_capture_on_commit_callbacks)
    invitee_mail = next(m for m in mail.outbox if m.to == ["dana@example.com"])
    start = booking.start.astimezone(ZoneInfo("Europe/Berlin"))
    when = moment_text(start, "Europe/Berlin", "de-DE")
    expected = f"Bestätigt: {TITLE} mit Alice Host am {when}"
    assert invitee_mail.subject == expected
    # As an SMTP server gets it: the same words once decoded, in RFC 2047 base64 encoded
    # words, on header lines of at most 78 characters.
    raw = invitee_mail.message().as_bytes(linesep="\r\n")
    parsed = message_from_bytes(raw)
    assert _decoded(parsed["Subject"]) == expected
    header = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    subject = re.search(r"^Subject:([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", header, re.M).group(1)
    words = re.findall(r"=\?[^?]+\?[bBqQ]\?[^?]*\?=", subject)
    assert words
    assert all(word.lower().startswith("=?utf-8?b?") for word in words)
    assert all(len(line) <= 78 for line in header.split("\r\n"))
    assert parsed["To"] == "dana@example.com"
    assert parsed["Reply-To"] == "alice@example.com"


def test_a_mostly_ascii_subject_is_base64_encoded_too():
    # The standard library would pick quoted-printable for it (shorter), whose splitting
    # costs over half of building the message.
    subject = "Confirmed: Intro call with Alice Host on Monday, December 7, 2026, 3:00 PM, "
    subject += "Central European Time \N{EM DASH} Berlin (UTC+1)"
    raw = Email(subject=subject, body="x", to=["a@example.com"]).message().as_bytes()
    parsed = message_from_bytes(raw)
    assert _decoded(parsed["Subject"]) == subject
    assert parsed["Subject"].split()[0].startswith("=?utf-8?b?")


def test_the_bodies_keep_djangos_transfer_encodings(
    client, page, django_capture_on_commit_callbacks
):
    _german_booking(client, page, django_capture_on_commit_callbacks)
    host_mail = next(m for m in mail.outbox if m.to == ["alice@example.com"])
    parsed = message_from_bytes(host_mail.message().as_bytes(linesep="\r\n"))
    body, attachment = parsed.get_payload()
    assert body["Content-Transfer-Encoding"] == "8bit"
    assert body.get_payload(decode=True).decode().replace("\r\n", "\n") == host_mail.body
    assert LONG_ANSWER in host_mail.body
    assert attachment.get_filename() == "invite.ics"
    assert attachment.get_payload(decode=True).replace(b"\r\n", b"\n") == host_mail.attachments[0][
        1
    ].encode().replace(b"\r\n", b"\n")
    # A body line past SMTP's 998 octets still goes quoted-printable, as Django sends it.
    long_line = Email(subject="Grüße", body="ä" * 600, to=["a@example.com"]).message()
    assert long_line["Content-Transfer-Encoding"] == "quoted-printable"
    assert _decoded(long_line["Subject"]) == "Grüße"
    named = Email(subject="x", body="x", to=["Jürgen Groß <j@example.com>"]).message()
    assert _decoded(named["To"]) == "Jürgen Groß <j@example.com>"


def test_each_readers_ics_is_icalendars_own_output_folded_to_75_octets(
    client, page, django_capture_on_commit_callbacks
):
    booking = _german_booking(client, page, django_capture_on_commit_callbacks)
    sent = {m.to[0]: m.attachments[0][1].encode() for m in mail.outbox}
    readers = (("dana@example.com", False, "de"), ("alice@example.com", True, "en"))
    for address, for_host, language in readers:
        parsed = icalendar.Calendar.from_ical(sent[address])
        event = parsed.walk("VEVENT")[0]
        description = str(event["DESCRIPTION"])
        with translation.override(language):  # the location's words
            calendar = booking_calendar(booking=booking, for_host=for_host, description=description)
        calendar.walk("VEVENT")[0]["DTSTAMP"] = event["DTSTAMP"]
        assert ical_bytes(calendar) == calendar.to_ical() == sent[address]
        assert parsed == calendar
        lines = sent[address].split(b"\r\n")
        assert max(len(line) for line in lines) <= 75
        assert any(len(line) == 75 or line.startswith(b" ") for line in lines)
        assert f"Anliegen (ausführlich): {LONG_ANSWER}" in description
    # Each names the other person, in the reader's language (Dana booked in German).
    other = {"dana@example.com": "mit Alice Host", "alice@example.com": "with Jürgen Groß"}
    for address, name in other.items():
        event = icalendar.Calendar.from_ical(sent[address]).walk("VEVENT")[0]
        assert str(event["SUMMARY"]) == f"{TITLE} {name}"


@pytest.mark.parametrize("width", range(60, 90))
def test_lines_near_the_fold_come_out_as_icalendar_folds_them(width):
    calendar = icalendar.Calendar()
    event = icalendar.Event()
    for offset, text in enumerate(("a", "ä", "€", "😀", "\\", ",", ";")):
        event.add("comment", "x" * (width - 9 - offset) + text * 3 + "y" * 5)
    calendar.add_component(event)
    folded = ical_bytes(calendar)
    assert folded == calendar.to_ical()
    assert max(len(line) for line in folded.split(b"\r\n")) <= 75


@given(text=st.text(alphabet=st.sampled_from("ab\\^,;: "), min_size=60, max_size=400))
@settings(max_examples=400, deadline=None)
def test_an_ascii_line_is_folded_exactly_where_icalendar_folds_it(text):
    """Backslashes and carets included: icalendar never ends a folded piece with one."""
    calendar = icalendar.Calendar()
    event = icalendar.Event()
    event.add("comment", text)
    event.add("x-note", icalendar.vText(text).to_ical().decode())
    calendar.add_component(event)
    assert ical_bytes(calendar) == calendar.to_ical()


def test_long_ascii_lines_are_not_folded_character_by_character(monkeypatch):
    """A booking's description (its cancel and reschedule links) is one long ASCII line."""
    from icalendar.parser import Contentline

    calendar = icalendar.Calendar()
    event = icalendar.Event()
    event.add("description", "Cancel: https://example.com/" + "c" * 100 + "\nReschedule: x")
    calendar.add_component(event)
    expected = calendar.to_ical()
    folded: list[str] = []
    real = Contentline.to_ical
    monkeypatch.setattr(Contentline, "to_ical", lambda line: folded.append(line) or real(line))
    assert ical_bytes(calendar) == expected
    assert folded == []


_ICS_TEXT = st.text(alphabet=st.sampled_from("ab NZ,;:\"^\\\n\r\u2019'äß€😀漢"), max_size=120)
_ZONES = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"])


@given(
    title=_ICS_TEXT,
    invitee=_ICS_TEXT,
    host_name=_ICS_TEXT,
    location=_ICS_TEXT,
    description=_ICS_TEXT,
    url=st.sampled_from(["", "https://teams.example/l/meetup-join/19%3a0?context=%7b%22Tid%22%7d"]),
    confirmed=st.booleans(),
    for_host=st.booleans(),
    sequence=st.integers(min_value=0, max_value=10_000),
    zone=_ZONES,
    start=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)),
)
@settings(max_examples=300, deadline=None)
def test_a_bookings_ics_is_written_exactly_as_icalendar_writes_it(
    title,
    invitee,
    host_name,
    location,
    description,
    url,
    confirmed,
    for_host,
    sequence,
    zone,
    start,
):
    from types import SimpleNamespace
    from unittest import mock

    from booking.ics import booking_ics

    start = start.replace(tzinfo=ZoneInfo(zone))
    booking = SimpleNamespace(
        uuid=uuid.uuid4(),
        start=start,
        end=start + timedelta(minutes=45),
        sequence=sequence,
        title=title,
        invitee_name=invitee,
        invitee_email="jo.invitee@example.com",
        host=SimpleNamespace(email="al.host@example.org", get_full_name=lambda: host_name),
        location_text=location,
        is_confirmed=confirmed,
    )
    now = datetime(2026, 12, 6, 22, 0, 1, 999, tzinfo=UTC)
    with mock.patch("django.utils.timezone.now", return_value=now):
        ours = booking_ics(booking=booking, for_host=for_host, description=description, url=url)
        calendar = booking_calendar(
            booking=booking, for_host=for_host, description=description, url=url
        )
        assert ours == calendar.to_ical()


def test_a_bookings_ics_is_written_without_building_icalendar_components(
    client, page, django_capture_on_commit_callbacks, monkeypatch
):
    from booking.ics import booking_ics

    booking = _german_booking(client, page, django_capture_on_commit_callbacks)
    added: list[str] = []
    real = icalendar.Event.add
    monkeypatch.setattr(
        icalendar.Event, "add", lambda *a, **kw: added.append(a[1]) or real(*a, **kw)
    )
    assert booking_ics(booking=booking, for_host=True).startswith(b"BEGIN:VCALENDAR\r\n")
    assert added == []


def test_a_bookings_ics_makes_no_icalendar_value_or_parameters(
    client, page, django_capture_on_commit_callbacks, monkeypatch
):
    """Each icalendar value (``vText``, ``vCalAddress``) carries its own ``Parameters``
    dictionary: about 590 Python calls an .ics went into them. The lines are written with
    the same escapes and quotes directly (compared with icalendar's output above)."""
    from icalendar.parser import Parameters

    from booking.ics import booking_ics

    booking = _german_booking(client, page, django_capture_on_commit_callbacks)
    made: list[int] = []
    real = Parameters.__init__
    monkeypatch.setattr(Parameters, "__init__", lambda *a, **kw: made.append(1) or real(*a, **kw))
    ics = booking_ics(booking=booking, for_host=True, description="Firma: Contoso; GmbH")
    assert b"ATTENDEE;CN=" in ics
    assert b"DESCRIPTION:Firma: Contoso\\; GmbH" in ics
    assert made == []
