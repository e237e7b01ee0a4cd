"""The Teams join link reaches the invitee: on the confirmation page (which asks for it
until Outlook made it) and in a follow-up email, once."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.core import mail
from django.db.models import F
from django.utils import translation

from booking.email_outbox import JOIN_LINK, booking_emails_deliver
from booking.models import Booking, BookingEmail, BookingPage, LocationKind
from calendars.models import Calendar, PushedEvent, PushState
from graph_sandbox import demo
from tests.calendars.test_push import book_one, confirmations_sent, ours, push
from tests.support.office365 import offered, tomorrow

pytestmark = pytest.mark.slow


def _announced_once_by_the_confirmation(url: str) -> None:
    """The (unsent) confirmation carries the link; no join-link email announces it."""
    from booking.email_outbox import JOIN_LINK_CHANGE, link_digest

    [confirmation] = BookingEmail.objects.filter(kind="confirmed")
    assert confirmation.link_digest == link_digest(url)
    assert not BookingEmail.objects.filter(kind__in=(JOIN_LINK, JOIN_LINK_CHANGE)).exists()


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_the_join_link_appears_on_the_confirmation_and_in_one_follow_up_email(
    client, adele, intro, o365, django_capture_on_commit_callbacks
):
    made, row = book_one(client)
    confirmations_sent()  # before the push: the link follows in an email of its own
    confirmation = _path(made["reschedule_url"]).replace("reschedule/", "")
    poll = confirmation + "join.json"
    assert client.get(poll).json() == {"join_url": "", "expected": True}
    page = client.get(confirmation).text
    assert 'id="join-waiting"' in page
    assert "js/join_link.js" in page

    with django_capture_on_commit_callbacks(execute=True):
        assert push(row) == "synced"
    [event] = ours(o365)
    assert event.join_url.startswith("http")
    assert client.get(poll).json() == {"join_url": event.join_url, "expected": True}
    page = client.get(confirmation).text
    assert f'href="{event.join_url}"' in page
    assert "js/join_link.js" not in page

    [email_row] = BookingEmail.objects.filter(kind=JOIN_LINK)
    mail.outbox.clear()
    assert booking_emails_deliver(email_id=email_row.pk).status == "synced"
    to_invitee, to_host = mail.outbox
    assert to_invitee.to == ["invitee000@example.com"]
    assert to_invitee.subject.startswith("Join link: Intro call with")
    assert event.join_url in to_invitee.body
    # The host's confirmation went without it too: they get it as well, in their words.
    assert to_host.to == [adele.host.email]
    assert to_host.subject.startswith("Join link: Intro call with Invitee")
    assert event.join_url in to_host.body
    assert "also in your calendar" in to_host.body

    # Pushing again (a reschedule: the same meeting, the same link) sends no second email.
    row.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        push(row)
    assert BookingEmail.objects.filter(kind=JOIN_LINK).count() == 1


def test_a_page_without_an_online_meeting_expects_no_link(client, adele, intro, o365):
    BookingPage.objects.filter(slug="intro").update(
        location_kind=LocationKind.PHONE, location_details="+44 20 7946 0958"
    )
    made, _row = book_one(client)
    confirmation = _path(made["reschedule_url"]).replace("reschedule/", "")
    assert client.get(confirmation + "join.json").json() == {"join_url": "", "expected": False}
    assert 'id="join"' not in client.get(confirmation).text


@pytest.fixture
def personal_account(o365):
    """Adele's calendars cannot make Teams meetings (as a personal Microsoft account's):
    set before she connects, so the product reads it with her calendar list."""
    o365.control.mailbox_online_meeting_providers_set(demo.ADELE.address, ["skypeForConsumer"])


def test_a_calendar_without_teams_is_flagged_and_its_bookings_say_the_link_follows(
    client, personal_account, adele, intro, o365, django_capture_on_commit_callbacks
):
    main = Calendar.objects.get(connection=adele, is_default=True)
    assert main.online_meetings is False
    page = BookingPage.objects.get(slug="intro")
    assert page.location_kind == LocationKind.TEAMS
    assert page.main_calendar == main
    # Setup says so where the host picks the location and the calendar.
    assert 'data-testid="teams-unavailable"' in client.get(f"/setup/booking-pages/{page.pk}/").text
    calendars = client.get(f"/setup/booking-pages/{page.pk}/calendars/").text
    assert 'data-testid="no-teams"' in calendars

    with django_capture_on_commit_callbacks(execute=True):
        made, row = book_one(client)
    mail.outbox.clear()
    for email_row in BookingEmail.objects.all():  # the confirmations, as the worker sends them
        assert booking_emails_deliver(email_id=email_row.pk).status == "synced"
    assert mail.outbox
    booking = Booking.objects.get()
    assert booking.no_join_link
    assert booking.location_text == "Online meeting (link to follow)"
    confirmation = _path(made["reschedule_url"]).replace("reschedule/", "")
    assert client.get(confirmation + "join.json").json() == {"join_url": "", "expected": False}
    assert "js/join_link.js" not in client.get(confirmation).text
    emails = "\n".join(message.body for message in mail.outbox)
    assert "Online meeting (link to follow)" in emails
    assert "calendar invitation" not in emails

    with django_capture_on_commit_callbacks(execute=True):
        assert push(row) == "synced"
    [event] = ours(o365)
    assert event.location == "Online meeting (link to follow)"
    assert (event.is_online_meeting, event.join_url) == (False, "")
    assert not BookingEmail.objects.filter(kind=JOIN_LINK).exists()


def test_the_pages_details_are_the_location_when_no_teams_meeting_can_be_made(
    client, personal_account, adele, intro, o365
):
    BookingPage.objects.filter(slug="intro").update(location_details="Zoom: zoom.example/j/42")
    _made, row = book_one(client)
    assert push(row) == "synced"
    [event] = ours(o365)
    assert event.location == "Online meeting: Zoom: zoom.example/j/42"
    with translation.override("de"):
        text = Booking.objects.get().location_text
    assert text == "Onlinebesprechung: Zoom: zoom.example/j/42"


def test_a_forged_link_asks_for_nothing(client, db):
    assert client.get("/bookings/not-a-token/join.json").status_code == 404


def test_a_rescheduled_teams_booking_keeps_its_meeting_and_its_join_link(
    client, adele, intro, o365, django_capture_on_commit_callbacks
):
    # Microsoft ("Update event"): a body PATCHed without the meeting's details turns the
    # online meeting off, and the invitee's join link with it.
    made, row = book_one(client)
    with django_capture_on_commit_callbacks(execute=True):
        assert push(row) == "synced"
    [created] = ours(o365)
    assert created.is_online_meeting
    assert created.join_url in created.body
    assert o365.session().get(created.join_url, timeout=30).status_code == 200

    new_start, _ = offered(client, "intro", first=tomorrow())[5]
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(made["reschedule_url"], {"start": new_start}).status_code == 302
    before = o365.control.request_log()[-1].id
    with django_capture_on_commit_callbacks(execute=True):
        assert push(row) == "synced"

    [moved] = ours(o365)
    assert moved.start == datetime.fromisoformat(new_start)
    assert (moved.is_online_meeting, moved.join_url) == (True, created.join_url)
    assert moved.body == created.body  # our part did not change: the body was left out
    assert o365.session().get(created.join_url, timeout=30).status_code == 200
    row.refresh_from_db()
    assert row.online_meeting_url == created.join_url
    _announced_once_by_the_confirmation(created.join_url)
    calls = o365.control.request_log(after_id=before)
    assert [c.method for c in calls if "/events/" in c.path] == ["GET", "PATCH"]


def test_new_booking_details_go_above_the_meeting_and_the_meeting_stays(
    client, adele, intro, o365, django_capture_on_commit_callbacks
):
    made, row = book_one(client)
    with django_capture_on_commit_callbacks(execute=True):
        assert push(row) == "synced"
    [created] = ours(o365)
    # The booking's details change (what the event's body says of it).
    row.refresh_from_db()
    payload = {**row.payload, "body_text": row.payload["body_text"] + "\nNotes: bring the deck"}
    PushedEvent.objects.filter(pk=row.pk).update(
        payload=payload, version=F("version") + 1, state=PushState.PENDING
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert push(row) == "synced"

    [changed] = ours(o365)
    assert (changed.is_online_meeting, changed.join_url) == (True, created.join_url)
    assert "Notes: bring the deck" in changed.body
    assert changed.body.index("Notes: bring the deck") < changed.body.index(created.join_url)
    assert changed.body.count(made["cancel_url"]) == 1
    assert o365.session().get(created.join_url, timeout=30).status_code == 200
    _announced_once_by_the_confirmation(created.join_url)
