"""After booking: the confirmation page, the .ics, cancelling and rescheduling from the links."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from babel.dates import format_date
from django.core import mail
from django.urls import reverse, set_script_prefix

from booking import tokens
from booking.models import Booking, BookingStatus
from booking.services.pages import page_create
from booking.tokens import booking_token
from calendars.models import PushedEvent
from tests.support.booking import at, book, next_fall_back, workday

pytestmark = pytest.mark.django_db


@pytest.fixture
def booked(client, page):
    """Dana booked Alice's page for 10:00 London on a coming workday, from Kolkata."""
    start = at(workday("Europe/London"), 10)
    response = book(client, page.slug, start=start, timezone="Asia/Kolkata")
    assert response.status_code == 201
    return response.json(), response["Location"]


def _path(url: str) -> str:
    return url.split("testserver", 1)[1]


def test_confirmation_shows_the_time_in_the_invitees_zone(client, booked):
    body, confirmation = booked
    page = client.get(confirmation).content.decode()
    local = datetime.fromisoformat(body["start"]).astimezone(ZoneInfo("Asia/Kolkata"))
    assert "You&#x27;re booked" in page or "You're booked" in page
    assert f"{local:%-I:%M %p}" in page  # no Accept-Language: en-US, 12-hour
    assert (
        '<dd id="booking-zone" data-zone="Asia/Kolkata">India Time — Kolkata (UTC+5:30)</dd>'
        in page
    )
    assert "Add to calendar (.ics)" in page
    assert _path(body["cancel_url"]) in page
    assert _path(body["reschedule_url"]) in page


def test_the_zone_reads_by_name_in_the_invitees_language_on_every_link(client, page):
    """Not "America/New_York": its name, city and offset on the day, as the picker shows it."""
    start = at(workday("Europe/London"), 15)
    response = book(client, page.slug, start=start, timezone="America/New_York", locale="de-DE")
    body = response.json()
    offset = datetime.fromisoformat(body["start"]).astimezone(ZoneInfo("America/New_York"))
    hours = -offset.utcoffset() // timedelta(hours=1)
    expected = f"Nordamerikanische Ostküstenzeit — New York (UTC\N{MINUS SIGN}{hours})"
    for url in (response["Location"], body["cancel_url"], body["reschedule_url"]):
        html = client.get(_path(url) if "testserver" in url else url).content.decode()
        assert expected in html, url
        assert "America/New_York" not in _visible_text(html), url


def _visible_text(html: str) -> str:
    """The page's text as read: no tags (nor their attributes), scripts or option lists."""
    html = re.sub(r"<(script|datalist)\b.*?</\1>", "", html, flags=re.DOTALL)
    return re.sub(r"<[^>]*>", " ", html)


def test_ics_download_is_a_valid_publish_event_in_utc(client, booked, host):
    body, _ = booked
    booking = Booking.objects.get(uuid=body["id"])
    response = client.get(reverse("booking:ics", args=[booking_token(booking)]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert "attachment" in response["Content-Disposition"]
    calendar = icalendar.Calendar.from_ical(response.content)
    assert str(calendar["METHOD"]) == "PUBLISH"
    [event] = calendar.walk("VEVENT")
    assert str(event["UID"]) == body["id"]
    assert event.decoded("DTSTART") == booking.start
    assert event.decoded("DTSTART").tzinfo.utcoffset(None) == timedelta(0)
    assert event.decoded("DTEND") == booking.end
    assert str(event["ORGANIZER"]) == f"mailto:{host.email}"
    assert str(event["ATTENDEE"]) == "mailto:dana@example.com"
    assert int(event["SEQUENCE"]) == 0
    # The invitee's calendar names whom they meet, not themselves.
    assert str(event["SUMMARY"]) == "Intro call with Alice Host"


def test_forged_or_mangled_links_are_404(client, booked):
    _body, confirmation = booked
    token = confirmation.rstrip("/").rsplit("/", 1)[1]
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for bad in [forged, "nonsense", token.split(":")[0], "a" * 500]:
        assert client.get(reverse("booking:manage", args=[bad])).status_code == 404
        assert client.post(reverse("booking:cancel", args=[bad])).status_code == 404
    assert Booking.objects.get().status == BookingStatus.CONFIRMED


@pytest.mark.usefixtures("email_tasks_in_process")
def test_cancel_with_a_reason_frees_the_slot_and_tells_everyone(
    client, booked, calendars, django_capture_on_commit_callbacks
):
    body, confirmation = booked
    cancel_page = client.get(body["cancel_url"])
    assert "Reason for cancelling" in cancel_page.content.decode()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(body["cancel_url"], {"reason": "Something came up"})
    assert response.status_code == 302
    booking = Booking.objects.get()
    assert booking.status == BookingStatus.CANCELLED
    assert booking.cancel_reason == "Something came up"
    assert booking.sequence == 1
    after = client.get(confirmation).content.decode()
    assert "cancelled" in after
    assert "Something came up" in after
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", "dana@example.com"]
    ics = icalendar.Calendar.from_ical(mail.outbox[0].attachments[0][1])
    assert str(ics["METHOD"]) == "CANCEL"
    assert str(ics.walk("VEVENT")[0]["STATUS"]) == "CANCELLED"
    # The slot is offered again, and a second cancel changes nothing.
    assert book(client, booking.page.slug, start=booking.start).status_code == 201
    again = client.post(body["cancel_url"], {"reason": "twice"})
    assert again.status_code == 400
    assert Booking.objects.get(pk=booking.pk).cancel_reason == "Something came up"


def test_cancel_unmirrors_the_calendar_events(client, page, calendars):
    start = at(workday("Europe/London"), 15)
    body = book(client, page.slug, start=start).json()
    assert PushedEvent.objects.filter(wanted=True).count() == 1
    client.post(body["cancel_url"], {"reason": ""})
    row = PushedEvent.objects.get()
    assert (row.wanted, row.version) == (False, 2)


def test_cancel_reason_too_long_is_refused(client, booked):
    body, _ = booked
    response = client.post(body["cancel_url"], {"reason": "x" * 501})
    assert response.status_code == 400
    assert Booking.objects.get().status == BookingStatus.CONFIRMED


@pytest.mark.usefixtures("email_tasks_in_process")
def test_reschedule_moves_the_booking_and_bumps_the_sequence(
    client, page, calendars, django_capture_on_commit_callbacks
):
    day = workday("Europe/London")
    body = book(client, page.slug, start=at(day, 10)).json()
    shown = client.get(body["reschedule_url"])
    assert shown.status_code == 200
    assert 'id="booker-config"' in shown.content.decode()
    mail.outbox.clear()
    new_start = at(day, 10, 30)  # overlapping its own old time is fine
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(body["reschedule_url"], {"start": new_start.isoformat()})
    assert response.status_code == 302
    booking = Booking.objects.get()
    assert (booking.start, booking.sequence) == (new_start, 1)
    assert booking.rescheduled_from_start == at(day, 10)
    row = PushedEvent.objects.get(calendar=calendars[0])
    assert row.version == 2
    assert datetime.fromisoformat(row.payload["start"]) == new_start
    assert all("Rescheduled" in m.subject for m in mail.outbox)
    assert len(mail.outbox) == 2
    ics = client.get(reverse("booking:ics", args=[booking_token(booking)])).content
    assert int(icalendar.Calendar.from_ical(ics).walk("VEVENT")[0]["SEQUENCE"]) == 1


@pytest.mark.usefixtures("email_tasks_in_process")
def test_emails_show_the_old_time_only_when_the_meeting_moved(
    client, booked, django_capture_on_commit_callbacks
):
    body, _ = booked  # 10:00 London, 15:30 in Kolkata
    new_start = datetime.fromisoformat(body["start"]) + timedelta(hours=1)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(body["reschedule_url"], {"start": new_start.isoformat()})
    moved = next(m for m in mail.outbox if m.to == ["dana@example.com"])
    assert "4:30 PM \N{EN DASH} 5:00 PM, India Time \N{EM DASH} Kolkata (UTC+5:30)" in moved.body
    assert "Was:" in moved.body
    assert "3:30 PM" in moved.body
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(body["cancel_url"], {"reason": ""})
    for message in mail.outbox:
        assert "Cancelled" in message.subject
        assert "Was:" not in message.body


@pytest.mark.usefixtures("email_tasks_in_process")
@pytest.mark.parametrize(
    ("zone", "start", "end", "offset"),
    [
        # 03:00 becomes 02:00 again.
        ("Australia/Sydney", "2:00 AM", "2:30 AM", "(UTC+10)"),
        # 02:00 becomes 01:00 again; west of Greenwich the offset has a minus sign, as
        # the booking page's zone picker writes it (not "UTC-5" with a hyphen).
        ("America/New_York", "1:00 AM", "1:30 AM", "(UTC\N{MINUS SIGN}5)"),
    ],
)
def test_a_time_in_the_hour_clocks_repeat_shows_its_offset_on_the_page_and_in_emails(
    client, host, django_capture_on_commit_callbacks, zone, start, end, offset
):
    change = next_fall_back(ZoneInfo(zone))
    page = page_create(
        host=host,
        fields={"title": "Late call", "slug": "late", "time_zone": "UTC", "horizon_days": 730},
        overrides=[(change.date(), time(0), time(0))],
    )
    with django_capture_on_commit_callbacks(execute=True):
        body = book(client, page.slug, start=change, timezone=zone).json()
    confirmation = client.get(_path(body["cancel_url"]).replace("cancel/", "")).content.decode()
    reschedule = client.get(_path(body["reschedule_url"])).content.decode()
    invitee_mail = next(m for m in mail.outbox if m.to == ["dana@example.com"])
    span = f"{start} {offset} \N{EN DASH} {end}"
    assert span in confirmation
    assert f"{offset}</dd>" in confirmation  # the zone's line, with the same offset
    assert f"{start} {offset}" in invitee_mail.subject
    assert span in invitee_mail.body
    assert span in reschedule
    for text in (confirmation, reschedule, invitee_mail.subject, invitee_mail.body):
        assert "UTC-" not in text


def test_reschedule_to_a_taken_or_unoffered_time_is_refused(client, page):
    day = workday("Europe/London")
    body = book(client, page.slug, start=at(day, 10)).json()
    assert book(client, page.slug, start=at(day, 11), email="eve@example.com").status_code == 201
    taken = client.post(body["reschedule_url"], {"start": at(day, 11).isoformat()})
    assert taken.status_code == 409
    assert "just taken" in taken.content.decode()
    for bad in [at(day, 11, 10).isoformat(), "garbage", "", "9999-12-31T23:59:59-23:59"]:
        assert client.post(body["reschedule_url"], {"start": bad}).status_code == 400
    assert Booking.objects.get(invitee_email="dana@example.com").start == at(day, 10)


def test_rescheduling_to_the_end_of_year_9999_on_a_page_east_of_utc_is_refused(client, host):
    page = page_create(
        host=host, fields={"title": "Tokyo", "slug": "tokyo", "time_zone": "Asia/Tokyo"}
    )
    start = at(workday("Asia/Tokyo"), 10, zone="Asia/Tokyo")
    body = book(client, page.slug, start=start).json()
    response = client.post(body["reschedule_url"], {"start": "9999-12-31T20:00:00+00:00"})
    assert response.status_code == 400
    assert "days ahead" in response.content.decode()
    assert Booking.objects.get().start == start


def test_past_bookings_cannot_be_changed(client, page, host):
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    booking = Booking.objects.create(
        page=page,
        host=host,
        title=page.title,
        start=start,
        end=start + timedelta(minutes=30),
        invitee_name="Old",
        invitee_email="old@example.com",
        invitee_time_zone="UTC",
    )
    token = booking_token(booking)
    assert client.post(reverse("booking:cancel", args=[token])).status_code == 400
    assert "already started" in client.get(reverse("booking:cancel", args=[token])).content.decode()
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED


def test_bookings_survive_the_page_being_deleted_and_can_still_be_cancelled(client, booked, page):
    body, confirmation = booked
    page.delete()
    assert client.get(confirmation).status_code == 200
    assert client.get(body["reschedule_url"]).status_code == 404
    assert client.post(body["cancel_url"], {"reason": ""}).status_code == 302
    assert Booking.objects.get().status == BookingStatus.CANCELLED


def test_a_bookings_links_are_worked_out_once_per_url_prefix(monkeypatch, client, page):
    """The event text and the answer to the booking request show the same links; a worker
    reading the booking again (its join-link email) reuses them."""
    start = at(workday("Europe/London"), 11)
    book(client, page.slug, start=start)
    booking = Booking.objects.get()
    tokens._paths.cache_clear()
    tokens._around.cache_clear()
    reversed_names = []

    def counted_reverse(name, args):
        reversed_names.append(name)
        return reverse(name, args=args)

    monkeypatch.setattr(tokens, "reverse", counted_reverse)
    links = tokens.booking_paths(booking)
    links["manage"] = "/elsewhere/"  # a caller's change stays its own
    assert tokens.booking_paths(booking)["manage"] == reverse(
        "booking:manage", args=[booking_token(booking)]
    )
    assert len(reversed_names) == 4
    set_script_prefix("/scheduling/")
    try:
        assert tokens.booking_paths(booking)["cancel"].startswith("/scheduling/bookings/")
    finally:
        set_script_prefix("/")
    assert len(reversed_names) == 8
    assert tokens.booking_paths(Booking.objects.get()) == tokens.booking_paths(booking)
    assert len(reversed_names) == 8


def test_each_new_bookings_links_come_from_paths_reversed_once_per_process(
    monkeypatch, client, page
):
    """Reversing four links costs every booking about 400 Python calls: the paths around
    the token are reversed once, and each booking's token is put between them, giving
    exactly what reverse() gives for it."""
    for hour in (10, 11, 12):
        assert book(client, page.slug, start=at(workday("Europe/London"), hour)).status_code == 201
    first, *others = Booking.objects.order_by("start")
    tokens._paths.cache_clear()
    tokens._around.cache_clear()
    reversed_names = []

    def counted_reverse(name, args):
        reversed_names.append(name)
        return reverse(name, args=args)

    monkeypatch.setattr(tokens, "reverse", counted_reverse)
    tokens.booking_paths(first)
    assert len(reversed_names) == 4
    for booking in others:
        token = booking_token(booking)
        assert tokens.booking_paths(booking) == {
            name: reverse(f"booking:{name}", args=[token])
            for name in ("manage", "cancel", "reschedule", "ics")
        }
    assert len(reversed_names) == 4


def test_after_moving_the_page_says_so_in_the_language_the_invitee_chose(client, page):
    """Booked in English, switched to Deutsch on the reschedule page: the page after the
    move keeps German and says the meeting moved, and its links keep German too."""
    day = workday("Europe/London")
    body = book(client, page.slug, start=at(day, 10)).json()
    response = client.post(body["reschedule_url"] + "?lang=de", {"start": at(day, 11).isoformat()})
    assert response.status_code == 302
    after = client.get(response["Location"])
    text = after.content.decode()
    assert after["Content-Language"] == "de"
    assert "Ihr Termin mit Alice Host wurde verschoben" in text
    assert _path(body["reschedule_url"]) + "?lang=de" in text
    assert _path(body["cancel_url"]) + "?lang=de" in text
    # Opened again later from the email, the page is the usual confirmation.
    plain = client.get(_path(body["reschedule_url"]).replace("reschedule/", "")).content
    assert "booked with Alice Host" in plain.decode()
    assert "was moved" not in plain.decode()


def test_after_cancelling_the_page_keeps_the_language_the_invitee_chose(client, booked):
    body, _ = booked
    response = client.post(body["cancel_url"] + "?lang=de", {"reason": ""})
    assert response.status_code == 302
    after = client.get(response["Location"]).content.decode()
    assert "Dieser Termin wurde abgesagt" in after
    # Its .ics is now a CANCEL: the button says what opening it does.
    assert "Aus Ihrem Kalender entfernen (.ics)" in after
    assert "Zum Kalender hinzufügen" not in after


def test_switching_to_german_writes_dates_and_the_calendar_in_german(client, page):
    """Booked in English (en-US): with ?lang=de the reschedule and booking pages name the
    day, the zone and the calendar's times in German, not an English weekday or "PM"."""
    day = workday("Europe/London")
    body = book(client, page.slug, start=at(day, 15), timezone="Europe/Berlin").json()
    german_day = format_date(day, "EEEE", locale="de_DE")
    english_day = format_date(day, "EEEE", locale="en_US")

    shown = client.get(body["reschedule_url"] + "?lang=de").content.decode()
    config = json.loads(re.search(r'id="booker-config"[^>]*>(.*?)</script>', shown, re.S)[1])
    assert config["locale"] == "de-DE"
    current = re.search(r'<p class="current-booking">(.*?)</p>', shown, re.S)[1]
    assert german_day in current
    assert "16:00" in current
    assert english_day not in current
    assert "PM" not in current
    assert "Mitteleuropäische" in current

    manage = client.get(body["reschedule_url"].replace("reschedule/", "") + "?lang=de")
    when = re.search(r'<dd id="booking-when">(.*?)</dd>', manage.content.decode(), re.S)[1]
    assert german_day in when
    assert english_day not in when
