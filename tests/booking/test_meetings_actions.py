"""Setup → Meetings: one meeting's detail, the host's actions, the export, and isolation."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from booking.meeting_export import neutralise
from booking.models import Booking, BookingChange, BookingEmail, BookingStatus, Question
from booking.selectors import slots_on_day_of
from booking.services.bookings import Invitee, booking_create, booking_reschedule
from booking.services.meetings import AlreadyCancelled, meeting_cancel
from calendars.models import PushedEvent
from tests.support.booking import at, workday
from tests.support.meetings import meeting, tomorrow_ten

pytestmark = pytest.mark.django_db
DANA = Invitee(
    "Dana Invitee",
    "dana@example.com",
    "Asia/Kolkata",
    answers=({"question": "Company", "answer": '=HYPERLINK("http://x")'},),
)


@pytest.fixture
def booked(page, calendars):
    """A booking of Alice's through the service, mirrored to her connected calendar."""
    return booking_create(page=page, start=at(workday("Europe/London"), 10), invitee=DANA)


def _detail(booking):
    return reverse("meetings:detail", args=[booking.pk])


def test_detail_shows_answers_zones_history_and_the_push(host_client, booked):
    start = at(workday("Europe/London"), 11)
    booking_reschedule(booking=booked, start=start)
    html = host_client.get(_detail(booked)).content.decode()
    assert "Company" in html
    assert "HYPERLINK" in html
    assert "India Time \u2014 Kolkata (UTC+5:30)" in html  # the invitee's zone, by name
    assert 'data-change="confirmed"' in html
    assert 'data-change="rescheduled"' in html
    assert "by the invitee" in html
    assert "Calendar" in html  # the push row of the main calendar
    assert 'data-calendar-state="on_its_way"' in html
    assert 'data-reminder="1440"' in html


def test_another_host_gets_404_on_every_meetings_url(client, teammate, booked):
    client.force_login(teammate)
    for name in ("detail", "cancel", "ask"):
        assert client.get(reverse(f"meetings:{name}", args=[booked.pk])).status_code == 404
    for name in ("cancel", "ask", "no_show", "retry"):
        assert client.post(reverse(f"meetings:{name}", args=[booked.pk])).status_code == 404
    assert client.get(reverse("meetings:detail", args=[999999])).status_code == 404
    assert "Dana" not in client.get(reverse("meetings:list")).content.decode()
    export = b"".join(client.get(reverse("meetings:export")).streaming_content).decode()
    assert "dana@example.com" not in export
    assert len(export.strip().splitlines()) == 1  # the header only
    booked.refresh_from_db()
    assert booked.is_confirmed


def test_logged_out_is_sent_to_log_in(client, booked):
    for url in (reverse("meetings:list"), _detail(booked), reverse("meetings:export")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


def test_host_cancel_emails_the_reason_removes_the_event_and_frees_the_slot(
    host_client, booked, email_tasks_in_process, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = host_client.post(
            reverse("meetings:cancel", args=[booked.pk]), {"reason": "I am ill, sorry"}
        )
    assert response.status_code == 302
    booked.refresh_from_db()
    assert booked.status == BookingStatus.CANCELLED
    assert booked.cancel_reason == "I am ill, sorry"
    to_invitee = [m for m in mail.outbox if m.to == ["dana@example.com"]][-1]
    assert "Reason: I am ill, sorry" in to_invitee.body
    assert "Alice Host cancelled your meeting." in to_invitee.body
    ics = to_invitee.attachments[0][1]
    assert b"METHOD:CANCEL" in (ics if isinstance(ics, bytes) else ics.encode())
    to_host = [m for m in mail.outbox if m.to == ["alice@example.com"]][-1]
    assert "You cancelled your meeting with Dana Invitee." in to_host.body
    assert list(PushedEvent.objects.values_list("wanted", flat=True)) == [False]
    offered = slots_on_day_of(page=booked.page, moment=booked.start, now=timezone.now())
    assert booked.start in {slot.start for slot in offered}
    change = BookingChange.objects.get(booking=booked, kind="cancelled")
    assert (change.actor, change.reason) == ("host", "I am ill, sorry")


def test_a_second_cancel_says_it_is_already_cancelled_and_sends_nothing(host_client, booked):
    url = reverse("meetings:cancel", args=[booked.pk])
    host_client.post(url, {"reason": ""})
    rows = BookingEmail.objects.count()
    response = host_client.post(url, {"reason": "again"}, follow=True)
    assert "already cancelled" in response.content.decode()
    assert BookingEmail.objects.count() == rows
    with pytest.raises(AlreadyCancelled):
        meeting_cancel(booking=booked)
    assert host_client.get(url, follow=True).redirect_chain[-1][0] == _detail(booked)


def test_a_meeting_that_started_cannot_be_cancelled_but_can_be_marked_no_show(host_client, booked):
    later = booked.start + timedelta(minutes=5)
    from booking.services.bookings import BookingNotChangeable
    from booking.services.meetings import meeting_set_no_show

    with pytest.raises(BookingNotChangeable):
        meeting_cancel(booking=booked, now=later)
    with pytest.raises(BookingNotChangeable):
        meeting_set_no_show(booking=booked, no_show=True, now=booked.start - timedelta(hours=1))
    meeting_set_no_show(booking=booked, no_show=True, now=later)
    meeting_set_no_show(booking=booked, no_show=True, now=later)  # idempotent
    booked.refresh_from_db()
    assert booked.no_show_at == later
    meeting_set_no_show(booking=booked, no_show=False, now=later)
    booked.refresh_from_db()
    assert booked.no_show_at is None
    kinds = list(BookingChange.objects.filter(booking=booked).values_list("kind", flat=True))
    assert kinds == ["confirmed", "no_show", "no_show_undone"]


def test_no_show_from_the_past_tab(host_client, page):
    start = tomorrow_ten() - timedelta(days=3)
    past = meeting(page, start)
    response = host_client.post(reverse("meetings:no_show", args=[past.pk]), follow=True)
    assert "Marked as a no-show" in response.content.decode()
    past.refresh_from_db()
    assert past.no_show_at is not None
    host_client.post(reverse("meetings:no_show", args=[past.pk]), {"undo": "1"})
    past.refresh_from_db()
    assert past.no_show_at is None


def test_ask_to_reschedule_emails_the_link_and_the_note_and_keeps_the_booking(
    host_client, booked, email_tasks_in_process, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = host_client.post(
            reverse("meetings:ask", args=[booked.pk]), {"note": "Could we do Thursday?"}
        )
    assert response.status_code == 302
    (message,) = mail.outbox
    assert message.to == ["dana@example.com"]
    assert "Could we do Thursday?" in message.body
    assert "/reschedule/" in message.body
    booked.refresh_from_db()
    assert booked.is_confirmed


def test_asking_again_within_ten_minutes_is_a_429_that_says_when_and_sends_nothing(
    host_client, booked, monkeypatch, email_tasks_in_process, django_capture_on_commit_callbacks
):
    from booking.meeting_views import ASK_RESCHEDULE_EVERY

    url = reverse("meetings:ask", args=[booked.pk])
    asked = lambda: BookingEmail.objects.filter(booking=booked, kind="ask_reschedule")  # noqa: E731
    with django_capture_on_commit_callbacks(execute=True):
        assert host_client.post(url, {"note": "Thursday?"}).status_code == 302
    assert asked().count() == 1

    again = host_client.post(url, {"note": "Friday, then?"})
    assert again.status_code == 429
    assert again["Retry-After"] == str(ASK_RESCHEDULE_EVERY)
    text = again.content.decode()
    assert "Dana Invitee was already asked to pick another time in the last 10 minutes." in text
    assert "You can ask again in 10 minutes." in text
    assert "Friday, then?" in text  # the note is kept for later
    assert asked().count() == 1

    # Another meeting of the same host is its own matter.
    other = booking_create(page=booked.page, start=at(workday("Europe/London"), 14), invitee=DANA)
    assert (
        host_client.post(reverse("meetings:ask", args=[other.pk]), {"note": ""}).status_code == 302
    )

    # Nine and a half minutes on: still refused, "in 1 minute"; ten minutes on: sent.
    real_now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: real_now + timedelta(minutes=9, seconds=30))
    almost = host_client.post(url, {"note": "Friday, then?"})
    assert almost.status_code == 429
    assert "You can ask again in 1 minute." in almost.content.decode()
    monkeypatch.setattr(timezone, "now", lambda: real_now + timedelta(minutes=10, seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert host_client.post(url, {"note": "Friday, then?"}).status_code == 302
    assert asked().count() == 2


def test_a_refused_ask_does_not_use_up_the_turn(host_client, booked, monkeypatch):
    """A meeting that has started cannot be moved; the host is told so, and is not then
    told to wait ten minutes on top."""
    from booking.services import meetings

    def not_now(**kwargs):
        raise meetings.BookingNotChangeable("This meeting has started.")

    url = reverse("meetings:ask", args=[booked.pk])
    monkeypatch.setattr("booking.meeting_views.meeting_ask_reschedule", not_now)
    refused = host_client.post(url, {"note": ""}, follow=True)
    assert "This meeting has started." in refused.content.decode()
    monkeypatch.undo()
    assert host_client.post(url, {"note": ""}).status_code == 302
    assert host_client.post(url, {"note": ""}).status_code == 429


def test_host_notification_switches_leave_out_the_hosts_email(
    host, page, email_tasks_in_process, django_capture_on_commit_callbacks
):
    host.notify_booked = False
    host.save()
    with django_capture_on_commit_callbacks(execute=True):
        booking = booking_create(page=page, start=at(workday("Europe/London"), 10), invitee=DANA)
    assert [m.to for m in mail.outbox] == [["dana@example.com"]]
    with django_capture_on_commit_callbacks(execute=True):
        booking_reschedule(booking=booking, start=at(workday("Europe/London"), 11))
    assert [m.to for m in mail.outbox][1:] == [["dana@example.com"], ["alice@example.com"]]


def test_profile_has_the_notification_switches(host_client, host):
    url = reverse("setup:profile")
    assert "a meeting is cancelled" in host_client.get(url).content.decode().lower()
    response = host_client.post(
        url, {"name": "Alice Host", "time_zone": "Europe/London", "notify_booked": "on"}
    )
    assert response.status_code == 302
    host.refresh_from_db()
    assert (host.notify_booked, host.notify_rescheduled, host.notify_cancelled) == (
        True,
        False,
        False,
    )


# --- export ---------------------------------------------------------------------------------


def _export(client, **query) -> list[list[str]]:
    response = client.get(reverse("meetings:export"), query)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.streaming
    body = b"".join(response.streaming_content)
    # One UTF-8 byte order mark first, so Excel reads the accents right.
    assert body.startswith(b"\xef\xbb\xbf")
    assert not body[3:].startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body[3:].decode("utf-8"))))


def test_export_has_a_header_one_column_per_question_and_neutralised_cells(
    host_client, page, booked
):
    Question.objects.create(page=page, label="Company", position=0)
    Question.objects.create(page=page, label="Size", position=1)
    header, row = _export(host_client)
    assert header[:8] == [
        "start",
        "end",
        "booking page",
        "invitee name",
        "invitee email",
        "invitee time zone",
        "status",
        "location",
    ]
    assert header[8:10] == ["Company", "Size"]
    assert header[10:] == ["booked at", "cancelled at", "cancel reason", "no-show"]
    assert (
        row[0]
        == booked.start.astimezone(__import__("zoneinfo").ZoneInfo("Europe/London")).isoformat()
    )
    assert row[4] == "dana@example.com"
    assert row[8] == '\'=HYPERLINK("http://x")'
    assert row[9] == ""


def test_a_question_label_that_reads_as_a_formula_is_neutralised_in_the_header(
    host_client, page, booked
):
    # A label is typed by a host, and an admin's export holds every member's labels: a
    # member's "=HYPERLINK(…)" must not run in the admin's spreadsheet.
    Question.objects.create(page=page, label='=HYPERLINK("http://x","Company")', position=0)
    Question.objects.create(page=page, label="@Size", position=1)
    header, _row = _export(host_client)
    assert header[8:10] == ['\'=HYPERLINK("http://x","Company")', "'@Size"]


def test_export_keeps_accents_for_spreadsheets(host_client, page):
    meeting(page, tomorrow_ten(), name="Zoë Ådler", email="zoe@example.com")
    response = host_client.get(reverse("meetings:export"))
    body = b"".join(response.streaming_content)
    # What Excel does with a CSV file: honour a byte order mark, else read cp1252.
    text = body.decode("utf-8-sig") if body.startswith(b"\xef\xbb\xbf") else body.decode("cp1252")
    header, row = list(csv.reader(io.StringIO(text)))
    assert header[0] == "start"
    assert row[3] == "Zoë Ådler"


def test_export_follows_the_filters_of_the_list(host_client, page):
    soon = tomorrow_ten()
    meeting(page, soon, name="Ann", email="ann@example.com")
    meeting(page, soon + timedelta(hours=1), name="Bob", email="bob@example.com")
    meeting(page, soon - timedelta(days=2), name="Ann Past", email="ann2@example.com")
    rows = _export(host_client, q="ann", tab="upcoming")[1:]
    assert [row[3] for row in rows] == ["Ann"]
    rows = _export(host_client, q="ann", tab="past")[1:]
    assert [row[3] for row in rows] == ["Ann Past"]
    assert host_client.get(reverse("meetings:export"), {"from": "nope"}).status_code == 400


def test_cancelled_rows_carry_when_and_why(host_client, page):
    gone = meeting(
        page,
        tomorrow_ten(),
        status=BookingStatus.CANCELLED,
        cancelled_at=timezone.now(),
        cancel_reason="-1 day notice",
    )
    (row,) = _export(host_client, tab="cancelled")[1:]
    assert row[6] == "cancelled"
    assert row[-2] == "'-1 day notice"
    assert row[-3]
    assert Booking.objects.get(pk=gone.pk).status == "cancelled"


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+44 20", "'+44 20"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("Dana", "Dana"),
        ("", ""),
    ],
)
def test_neutralise(value, safe):
    assert neutralise(value) == safe


def test_the_page_form_edits_the_reminder_offsets(host_client, page):
    from tests.support.booking import editor_data

    url = reverse("pages:edit", args=[page.pk])
    assert "Email reminders to invitees" in host_client.get(url).content.decode()
    data = editor_data(slug=page.slug, reminder_offsets=["15", "2880"])
    assert host_client.post(url, data).status_code == 302
    page.refresh_from_db()
    assert sorted(page.reminder_offsets) == [15, 2880]
    assert (
        host_client.post(url, editor_data(slug=page.slug, reminder_offsets=[])).status_code == 302
    )
    page.refresh_from_db()
    assert page.reminder_offsets == []
    refused = host_client.post(url, editor_data(slug=page.slug, reminder_offsets=["7"]))
    assert refused.status_code == 400


def test_junk_in_meetings_urls_is_a_4xx(host_client, booked):
    huge = 10**20
    assert host_client.get(f"/setup/meetings/{huge}/").status_code == 404
    assert host_client.post(f"/setup/meetings/{huge}/cancel/").status_code == 404
    assert host_client.get(reverse("meetings:list"), {"q": "a\x00b"}).status_code == 400
    assert host_client.get(reverse("meetings:list"), {"page": huge}).status_code == 200
    assert host_client.get(reverse("meetings:export"), {"booking_page": huge}).status_code == 400
    assert host_client.post(reverse("meetings:list")).status_code == 405


def test_a_collective_meeting_shows_in_its_co_hosts_meetings_too(
    client, teammate, outsider, booked
):
    from booking.models import BookingCohost

    BookingCohost.objects.create(booking=booked, user=teammate)
    client.force_login(teammate)
    assert "Dana Invitee" in client.get(reverse("meetings:list")).content.decode()
    assert client.get(_detail(booked)).status_code == 200
    client.force_login(outsider)
    assert client.get(_detail(booked)).status_code == 404
