"""The public JSON API: slots in the invitee's zone, bookings, and every bad input a 4xx."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from booking.bookable_pages import bookable_page_cached
from booking.models import (
    Booking,
    BookingEmail,
    BookingPage,
    BookingStatus,
    Question,
    QuestionKind,
)
from booking.services.pages import page_create, page_set_active
from calendars.models import BusyInterval, CalendarConnection, PushedEvent, PushState
from outbox.dispatch import publisher_drain
from outbox.sweeper import sweeps_run
from scheduleonce.celery import app as celery_app
from tests.support.booking import at, book, bookable_body, slots_url, workday
from tests.support.interleave import selects_from, write_after_query

pytestmark = pytest.mark.django_db
KOLKATA = ZoneInfo("Asia/Kolkata")


def _london_day(day, *, step=30):
    """The page's slot starts on ``day`` (Mon-Fri 9:00-17:00 London, 30 minutes)."""
    first = at(day, 9)
    return [first + timedelta(minutes=step * i) for i in range(16)]


def test_slots_are_the_pages_hours_shown_in_the_invitees_zone(client, page):
    day = workday("Asia/Kolkata")
    response = client.get(slots_url(page.slug, start=day, end=day, tz="Asia/Kolkata"))
    assert response.status_code == 200
    body = response.json()
    assert body["timezone"] == "Asia/Kolkata"
    expected = [s.astimezone(KOLKATA) for s in _london_day(day)]
    assert [s["start"] for s in body["slots"]] == [s.isoformat() for s in expected]
    assert [s["end"] for s in body["slots"]] == [
        (s + timedelta(minutes=30)).isoformat() for s in expected
    ]
    assert body["slots"][0]["start"].endswith("+05:30")


def test_start_and_end_are_whole_days_in_tz_with_end_included(client, page):
    # In Auckland a London working day straddles two local dates.
    auckland = ZoneInfo("Pacific/Auckland")
    monday = workday("Pacific/Auckland", weekday=0, days_ahead=3)
    london = [*_london_day(monday), *_london_day(monday + timedelta(days=1))]

    def expected(first, last):
        local = [s.astimezone(auckland) for s in london]
        return [s.isoformat() for s in local if first <= s.date() <= last]

    for last in [monday, monday + timedelta(days=1)]:
        url = slots_url(page.slug, start=monday, end=last, tz="Pacific/Auckland")
        got = [s["start"] for s in client.get(url).json()["slots"]]
        assert got == expected(monday, last)
        assert got


def test_weekends_past_days_and_days_beyond_the_horizon_have_no_slots(client, page):
    today = datetime.now(UTC).date()
    saturday = today + timedelta(days=(5 - today.weekday()) % 7 or 7)
    for start in [saturday, today - timedelta(days=10), today + timedelta(days=62)]:
        response = client.get(slots_url(page.slug, start=start, end=start, tz="Europe/London"))
        assert response.status_code == 200
        assert response.json()["slots"] == []


def test_busy_time_of_the_main_and_busy_calendars_blocks_slots(
    client, page, calendars, django_capture_on_commit_callbacks
):
    main, team = calendars
    day = workday("Europe/London")
    BusyInterval.objects.create(
        calendar=main, remote_event_id="e1", start=at(day, 10), end=at(day, 11), show_as="busy"
    )
    BusyInterval.objects.create(
        calendar=team, remote_event_id="e2", start=at(day, 12), end=at(day, 13), show_as="oof"
    )

    def starts():
        slots = client.get(slots_url(page.slug, start=day, end=day, tz="Europe/London"))
        return {datetime.fromisoformat(s["start"]) for s in slots.json()["slots"]}

    page.refresh_from_db()
    assert page.main_calendar == main  # the default calendar became the main one
    assert at(day, 10) not in starts()
    assert at(day, 10, 30) not in starts()
    assert at(day, 12) in starts()  # "Team" does not supply busy time yet
    with django_capture_on_commit_callbacks(execute=True):  # as its commit would
        page.calendar_uses.create(calendar=team, retrieve_busy=True)
    assert at(day, 12) not in starts()
    assert at(day, 11) in starts()


def test_tentative_blocks_unless_the_page_says_otherwise_and_free_never_does(
    client, page, calendars
):
    main, _ = calendars
    day = workday("Europe/London")
    BusyInterval.objects.create(
        calendar=main, remote_event_id="t", start=at(day, 9), end=at(day, 10), show_as="tentative"
    )
    BusyInterval.objects.create(
        calendar=main, remote_event_id="f", start=at(day, 14), end=at(day, 15), show_as="free"
    )
    url = slots_url(page.slug, start=day, end=day, tz="Europe/London")
    starts = {s["start"] for s in client.get(url).json()["slots"]}
    assert at(day, 9).isoformat() not in starts
    assert at(day, 14).isoformat() in starts
    page.block_tentative = False
    page.save()
    starts = {s["start"] for s in client.get(url).json()["slots"]}
    assert at(day, 9).isoformat() in starts


def test_busy_time_of_a_disconnected_account_is_ignored(client, page, calendars):
    main, _ = calendars
    day = workday("Europe/London")
    BusyInterval.objects.create(
        calendar=main, remote_event_id="x", start=at(day, 9), end=at(day, 10)
    )
    CalendarConnection.objects.update(status="disconnected")
    url = slots_url(page.slug, start=day, end=day, tz="Europe/London")
    assert at(day, 9).isoformat() in {s["start"] for s in client.get(url).json()["slots"]}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start": "2026-13-01", "end": "2026-13-02", "tz": "UTC"}, "start"),
        ({"start": "tomorrow", "end": "2026-01-02", "tz": "UTC"}, "start"),
        ({"start": "2026-01-10", "end": "2026-01-09", "tz": "UTC"}, "end"),
        ({"start": "2026-01-01", "end": "2026-03-04", "tz": "UTC"}, "end"),  # 63 days
        ({"start": "2026-01-01", "end": "2026-01-02", "tz": "Mars/Olympus_Mons"}, "tz"),
        ({"start": "2026-01-01", "end": "2026-01-02"}, "tz"),
        ({"end": "2026-01-02", "tz": "UTC"}, "start"),
        ({"start": "0001-01-01", "end": "0001-01-01", "tz": "X" * 300}, "tz"),
        # The server's own zone under a file name that is not an IANA zone.
        ({"start": "2026-01-01", "end": "2026-01-02", "tz": "localtime"}, "tz"),
    ],
)
def test_bad_slot_queries_answer_400_with_field_messages(client, page, query, field):
    response = client.get(slots_url(page.slug, **query))
    assert response.status_code == 400
    assert response.json()["errors"][field]


def test_sixty_two_days_are_allowed_and_extreme_dates_are_harmless(client, page):
    ok = client.get(slots_url(page.slug, start="2026-01-01", end="2026-03-03", tz="UTC"))
    assert ok.status_code == 200
    for day in ["0001-01-01", "9999-12-31"]:
        response = client.get(slots_url(page.slug, start=day, end=day, tz="Pacific/Kiritimati"))
        assert response.status_code == 200
        assert response.json()["slots"] == []


def test_unknown_and_disabled_pages_answer_404_everywhere(client, page):
    day = workday("Europe/London")
    # "nul\x00" cannot even be queried on PostgreSQL: still a 404, never a 500.
    for slug in ["nobody", "nul\x00", "Ünïcode", "x" * 300]:
        assert client.get(slots_url(slug, start=day, end=day, tz="UTC")).status_code == 404
        assert book(client, slug, start=at(day, 10)).status_code == 404
        assert client.get(reverse("booking:page", args=[slug])).status_code == 404
    page_set_active(page=page, active=False)
    response = client.get(slots_url(page.slug, start=day, end=day, tz="UTC"))
    assert response.status_code == 404
    assert response.json()["message"]
    assert book(client, page.slug, start=at(day, 10)).status_code == 404
    html = client.get(reverse("booking:page", args=[page.slug]))
    assert html.status_code == 404
    assert "not taking bookings" in html.content.decode()


def test_head_requests_to_the_public_page_answer_like_get(client, page):
    # Link checkers and uptime monitors ask with HEAD.
    assert client.head(reverse("booking:page", args=[page.slug])).status_code == 200
    assert client.head(reverse("booking:page", args=["nobody"])).status_code == 404


def test_a_link_typed_with_capitals_redirects_to_the_page(client, page):
    response = client.get("/book/Alice-Intro/")
    assert response.status_code == 301
    assert response["Location"] == reverse("booking:page", args=["alice-intro"])
    assert client.get("/book/Nobody-Here/").status_code == 404


def test_a_page_disabled_while_a_booking_is_on_its_way_answers_404(client, page):
    # The host disables the page right after the API found it (its row, read first; the
    # rest is kept from an earlier booking), before the booking is written.
    bookable_page_cached(slug=page.slug)

    def disable():
        page_set_active(page=BookingPage.objects.get(pk=page.pk), active=False)

    with write_after_query(selects_from("booking_bookingpage", "slug"), disable):
        response = book(client, page.slug, start=at(workday("Europe/London"), 10))
    assert response.status_code == 404
    assert response.json()["message"] == "This booking page is not taking bookings."
    assert not Booking.objects.exists()


def test_wrong_methods_answer_405_in_json(client, page):
    bookings = reverse("booking:api-bookings", args=[page.slug])
    slots = reverse("booking:api-slots", args=[page.slug])
    assert client.get(bookings).status_code == 405
    response = client.post(slots, data="{}", content_type="application/json")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


# --- booking ---------------------------------------------------------------------------


def test_booking_answers_201_with_links_and_writes_the_booking(client, page):
    start = at(workday("Europe/London"), 10)
    response = book(client, page.slug, start=start.astimezone(KOLKATA), timezone="Asia/Kolkata")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "start", "end", "cancel_url", "reschedule_url", "host"}
    assert body["host"] == {"name": "Alice Host"}
    assert datetime.fromisoformat(body["start"]) == start
    assert body["start"].endswith("+05:30")
    assert datetime.fromisoformat(body["end"]) == start + timedelta(minutes=30)
    booking = Booking.objects.get(uuid=body["id"])
    assert (booking.start, booking.status) == (start, BookingStatus.CONFIRMED)
    assert booking.invitee_time_zone == "Asia/Kolkata"
    assert body["cancel_url"].startswith("http://testserver/bookings/")
    assert client.get(body["cancel_url"]).status_code == 200
    assert client.get(body["reschedule_url"]).status_code == 200
    assert client.get(response["Location"]).status_code == 200
    # No calendar connected: the booking stands and nothing waits for a push.
    assert not PushedEvent.objects.exists()


def test_booked_time_is_no_longer_offered_and_a_second_booking_gets_409(client, page):
    day = workday("Europe/London")
    assert book(client, page.slug, start=at(day, 10)).status_code == 201
    second = book(client, page.slug, start=at(day, 10), email="eve@example.com")
    assert second.status_code == 409
    assert second.json()["errors"]["start"]
    url = slots_url(page.slug, start=day, end=day, tz="Europe/London")
    assert at(day, 10).isoformat() not in {s["start"] for s in client.get(url).json()["slots"]}
    assert Booking.objects.count() == 1


def test_busy_calendar_time_answers_409(client, page, calendars):
    main, _ = calendars
    day = workday("Europe/London")
    BusyInterval.objects.create(
        calendar=main, remote_event_id="b", start=at(day, 10), end=at(day, 11)
    )
    assert book(client, page.slug, start=at(day, 10, 30)).status_code == 409


def test_booking_writes_outbox_rows_for_main_and_add_bookings_calendars(client, page, calendars):
    main, team = calendars
    page.refresh_from_db()
    page.calendar_uses.create(calendar=team, add_bookings=True)
    page.location_kind = "teams"
    page.save()
    Question.objects.create(page=page, label="Company", kind=QuestionKind.TEXT, position=0)
    company = page.questions.get()
    start = at(workday("Europe/London"), 11)
    response = book(client, page.slug, start=start, answers={str(company.pk): "Acme"})
    assert response.status_code == 201
    rows = PushedEvent.objects.filter(source=f"booking:{response.json()['id']}")
    assert {row.calendar for row in rows} == {main, team}
    assert all(row.state == PushState.PENDING and row.wanted for row in rows)
    event = rows[0].payload
    assert event["subject"] == "Intro call with Dana Invitee"
    assert event["online_meeting"] is True
    assert event["time_zone"] == "Europe/London"
    assert datetime.fromisoformat(event["start"]) == start
    assert event["attendees"] == [{"email": "dana@example.com", "name": "Dana Invitee"}]
    assert "Company: Acme" in event["body_text"]
    assert "/cancel/" in event["body_text"]
    assert "/reschedule/" in event["body_text"]


@pytest.mark.usefixtures("broker_unreachable")
def test_while_the_broker_is_down_a_booking_waits_on_neither_the_broker_nor_the_mail_server(
    client, page, calendars, django_capture_on_commit_callbacks, caplog, settings
):
    start = at(workday("Europe/London"), 14)
    with django_capture_on_commit_callbacks(execute=True):
        response = book(client, page.slug, start=start)
    assert response.status_code == 201
    booking = Booking.objects.get(uuid=response.json()["id"])
    assert booking.status == BookingStatus.CONFIRMED
    # Nothing left from the request: its emails and its calendar push are outbox rows...
    assert mail.outbox == []
    email = BookingEmail.objects.get(booking=booking)
    assert (email.kind, email.state) == ("confirmed", "pending")
    pending = PushedEvent.objects.get(state=PushState.PENDING)
    assert pending.calendar == calendars[0]
    # ...and the broker was tried off the request's thread, which never waited on it.
    assert publisher_drain(timeout=30)
    refused = [r for r in caplog.records if "Could not queue" in r.getMessage()]
    assert len(refused) == 1  # one message for the booking: its push and its emails
    assert {record.threadName for record in refused} == {"outbox-publisher"}

    # Workers are back: the sweeper queues the emails (run in this process here).
    later = timezone.now() + timedelta(seconds=settings.OUTBOX_REQUEUE_AFTER + 1)
    celery_app.conf.task_always_eager = True
    try:
        assert sweeps_run(now=later)["booking emails"] == 1
    finally:
        celery_app.conf.task_always_eager = False
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", "dana@example.com"]
    assert BookingEmail.objects.get(pk=email.pk).state == "sent"


@pytest.mark.usefixtures("email_tasks_in_process")
def test_confirmation_emails_go_to_invitee_and_host_with_a_valid_ics(
    client, page, django_capture_on_commit_callbacks
):
    start = at(workday("Europe/London"), 14)
    with django_capture_on_commit_callbacks(execute=True):
        response = book(client, page.slug, start=start, timezone="America/New_York")
    assert response.status_code == 201
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", "dana@example.com"]
    invitee_mail = next(m for m in mail.outbox if m.to == ["dana@example.com"])
    assert "Confirmed: Intro call" in invitee_mail.subject
    assert "Eastern Time \N{EM DASH} New York (UTC" in invitee_mail.body
    assert "America/New_York" not in invitee_mail.body
    assert response.json()["cancel_url"].split("testserver")[1] in invitee_mail.body
    name, content, mimetype = invitee_mail.attachments[0]
    assert (name, mimetype) == ("invite.ics", "text/calendar")
    event = icalendar.Calendar.from_ical(content).walk("VEVENT")[0]
    assert str(event["UID"]) == response.json()["id"]
    assert event.decoded("DTSTART") == start
    # Each copy names the other person.
    assert str(event["SUMMARY"]) == "Intro call with Alice Host"
    host_mail = next(m for m in mail.outbox if m.to == ["alice@example.com"])
    host_event = icalendar.Calendar.from_ical(host_mail.attachments[0][1]).walk("VEVENT")[0]
    assert str(host_event["SUMMARY"]) == "Intro call with Dana Invitee"


def test_answers_are_checked_against_the_pages_questions(client, page):
    size = Question.objects.create(
        page=page, label="Team size", kind="choice", options=["1-10", "11+"], required=True
    )
    phone = Question.objects.create(page=page, label="Phone", kind="phone")
    start = at(workday("Europe/London"), 10)
    cases = [
        ({}, f"answers.{size.pk}"),
        ({str(size.pk): "lots"}, f"answers.{size.pk}"),
        ({str(size.pk): "11+", str(phone.pk): "call me"}, f"answers.{phone.pk}"),
        ({str(size.pk): "11+", "999": "x"}, "answers"),
        ({str(size.pk): ["11+"]}, f"answers.{size.pk}"),
        ({str(size.pk): "11+", str(phone.pk): "1" * 1001}, f"answers.{phone.pk}"),
    ]
    for answers, field in cases:
        response = book(client, page.slug, start=start, answers=answers)
        assert response.status_code == 400, answers
        assert field in response.json()["errors"], (answers, response.json())
    # null is no answer: refused for a required question, fine for an optional one.
    response = book(client, page.slug, start=start, answers={str(size.pk): None})
    assert f"answers.{size.pk}" in response.json()["errors"]
    response = book(client, page.slug, start=start, answers=["11+"])
    assert response.json()["errors"]["answers"]
    ok = book(client, page.slug, start=start, answers={str(size.pk): "11+", str(phone.pk): None})
    assert ok.status_code == 201
    assert Booking.objects.get().answers == [
        {"question": "Team size", "answer": "11+"},
        {"question": "Phone", "answer": ""},
    ]


def test_an_answer_with_a_nul_character_is_refused(client, page):
    # PostgreSQL cannot store U+0000 in text or JSON: it must be a 400, not a 500.
    company = Question.objects.create(page=page, label="Company", kind="text")
    start = at(workday("Europe/London"), 10)
    response = book(client, page.slug, start=start, answers={str(company.pk): "Acme\x00Corp"})
    assert response.status_code == 400
    assert f"answers.{company.pk}" in response.json()["errors"]
    assert not Booking.objects.exists()


def _bad_starts(page):
    day = workday("Europe/London")
    now = datetime.now(UTC)
    far = now.date() + timedelta(days=page.horizon_days + 3)
    while far.weekday() > 4:
        far += timedelta(days=1)
    return {
        "off the grid": at(day, 10, 7).isoformat(),
        "outside hours": at(day, 18).isoformat(),
        "past": at(now.date() - timedelta(days=7), 10).isoformat(),
        "too soon": (now + timedelta(minutes=5)).isoformat(),
        "beyond the horizon": at(far, 10).isoformat(),
        "no offset": at(day, 10).replace(tzinfo=None).isoformat(),
        "malformed": "next tuesday",
        "empty": "",
        "not a string": 1735689600,
        "before year 1 in UTC": "0001-01-01T00:00:00+23:59",
        "after year 9999 in UTC": "9999-12-31T23:59:59-23:59",
    }


@pytest.mark.parametrize(
    "which",
    [
        "off the grid",
        "outside hours",
        "past",
        "too soon",
        "beyond the horizon",
        "no offset",
        "malformed",
        "empty",
        "not a string",
        "before year 1 in UTC",
        "after year 9999 in UTC",
    ],
)
def test_bad_starts_answer_400_on_start(client, page, which):
    response = book(client, page.slug, start=_bad_starts(page)[which])
    assert response.status_code == 400, response.content
    assert response.json()["errors"]["start"]


@pytest.mark.parametrize("time_zone", ["Asia/Tokyo", "Pacific/Kiritimati"])
def test_a_start_at_the_end_of_year_9999_on_a_page_east_of_utc_answers_400(client, host, time_zone):
    # A moment UTC can hold, but that is already year 10000 in the page's zone.
    page = page_create(host=host, fields={"title": "Far", "slug": "far", "time_zone": time_zone})
    response = book(client, page.slug, start="9999-12-31T20:00:00+00:00")
    assert response.status_code == 400, response.content
    assert "days ahead" in response.json()["errors"]["start"][0]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": ""}, "timezone"),
        ({"name": ""}, "name"),
        ({"name": "x" * 151}, "name"),
        ({"name": ["Dana"]}, "name"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a" * 250 + "@example.com"}, "email"),
        ({"name": None}, "name"),
        # A line break would end up in the host's email subject, which refuses it.
        ({"name": "Dana\nBcc: eve@example.com"}, "name"),
        ({"name": "Da\rna"}, "name"),
    ],
)
def test_bad_fields_answer_400_with_their_name(client, page, change, field):
    response = book(client, page.slug, start=at(workday("Europe/London"), 10), **change)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_missing_fields_are_each_named(client, page):
    response = client.post(
        reverse("booking:api-bookings", args=[page.slug]),
        data="{}",
        content_type="application/json",
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"start", "name", "email", "timezone"}


@pytest.mark.parametrize("field", ["name", "email", "timezone", "answer"])
def test_a_lone_surrogate_escape_in_the_body_answers_400(client, page, field):
    # Valid JSON, but "\\ud800" decodes to half a character that no database can store.
    company = Question.objects.create(page=page, label="Company", kind="text")
    body = bookable_body(answer_to=company)
    if field == "answer":
        body["answers"][str(company.pk)] = "Acme \ud800"
    else:
        body[field] = body[field] + "\ud800"
    response = book(client, page.slug, **body)
    assert response.status_code == 400
    assert response.json()["errors"]["body"]
    assert not Booking.objects.exists()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("not json", "application/json"),
        ("[1, 2]", "application/json"),
        ('"a string"', "application/json"),
        (b"\xff\xfe\x00", "application/json"),
        ('{"start": "x"}', "text/plain"),
        ("start=x&name=y", "application/x-www-form-urlencoded"),
        ("[" * 5000 + "]" * 5000, "application/json"),
    ],
)
def test_bodies_that_are_not_a_json_object_answer_400(client, page, body, content_type):
    response = client.post(
        reverse("booking:api-bookings", args=[page.slug]), data=body, content_type=content_type
    )
    assert response.status_code == 400
    assert response.json()["errors"]["body"]


def test_a_huge_body_answers_413(client, page):
    body = json.dumps({"name": "x" * 100_000})
    response = client.post(
        reverse("booking:api-bookings", args=[page.slug]),
        data=body,
        content_type="application/json",
    )
    assert response.status_code == 413
    assert response.json()["errors"]["body"]


def test_a_page_whose_stored_rules_the_engine_refuses_offers_nothing_instead_of_failing(
    client, page
):
    day = workday("Europe/London")
    page.weekly_hours.create(weekday=day.weekday(), start="10:00", end="11:00")  # overlaps
    response = client.get(slots_url(page.slug, start=day, end=day, tz="UTC"))
    assert (response.status_code, response.json()["slots"]) == (200, [])
    assert book(client, page.slug, start=at(day, 10)).status_code == 400


@pytest.mark.usefixtures("email_tasks_in_process")
def test_a_title_saved_with_a_line_break_still_gets_its_emails_out(
    client, page, django_capture_on_commit_callbacks
):
    # Forms refuse control characters now; rows saved before that may still hold them.
    type(page).objects.filter(pk=page.pk).update(title="Intro\ncall")
    start = at(workday("Europe/London"), 14)
    with django_capture_on_commit_callbacks(execute=True):
        response = book(client, page.slug, start=start)
    assert response.status_code == 201
    assert len(mail.outbox) == 2
    assert all("Intro call" in m.subject and "\n" not in m.subject for m in mail.outbox)
