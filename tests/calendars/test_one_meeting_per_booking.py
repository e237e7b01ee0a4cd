"""A booking is one meeting: one invitation and one Teams link, whatever calendars hold it.

- A page that also adds its bookings to another calendar invites the invitee from the
  main booking calendar's event only; the other calendar gets a copy for the host's
  records, with no attendees and no online meeting of its own.
- An event made again without an online meeting leaves no link behind.
- After the host connects another account, the old account's events no longer give the
  booking its link.
"""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from booking.email_outbox import JOIN_LINK, JOIN_LINK_CHANGE, booking_emails_deliver
from booking.meeting_selectors import calendar_standings, join_urls_for
from booking.models import Booking, BookingEmail, PageCalendar
from booking.reminders import join_url_for
from calendars.models import PushedEvent
from tests.calendars.test_push import book_one, calendar_of, confirmations_sent, ours, push
from tests.support.booking import book
from tests.support.office365 import ADELE, MEGAN, connect_host, offered, rows_for, tomorrow

pytestmark = pytest.mark.slow


def _confirmation(made: dict) -> str:
    url = made["reschedule_url"].replace("reschedule/", "")
    return "/" + url.split("/", 3)[3]


def _links(booking: Booking) -> tuple[str, str, str]:
    """The booking's join link as the confirmation page, Setup's list and Setup's
    calendar state read it."""
    return (
        join_url_for(booking=booking),
        join_urls_for(bookings=[booking]).get(booking.pk, ""),
        calendar_standings(bookings=[booking])[booking.pk].join_url,
    )


def test_a_page_with_an_add_bookings_calendar_invites_once_with_one_teams_meeting(
    client, adele, intro, o365, django_capture_on_commit_callbacks
):
    personal = calendar_of(adele, "Personal")
    PageCalendar.objects.create(page=intro, calendar=personal, add_bookings=True)
    start, _ = offered(client, "intro", first=tomorrow())[0]
    # The invitee is Megan, a mailbox of the sandbox: Exchange delivers her invitations.
    answer = book(client, "intro", start=start, name="Megan", email=MEGAN, answers={})
    assert answer.status_code == 201
    made = answer.json()
    confirmations_sent()  # the link comes later: in an email of its own
    main, extra = rows_for(made["id"])
    assert extra.calendar == personal
    with django_capture_on_commit_callbacks(execute=True):
        assert push(extra) == "synced"  # the extra calendar's push may finish first
        assert push(main) == "synced"

    [in_main] = ours(o365)
    [in_personal] = ours(o365, calendar="Personal")
    assert in_main.is_online_meeting
    assert in_main.join_url.startswith("http")
    assert in_main.attendees == [{"name": "Megan", "address": MEGAN, "type": "required"}]
    # The copy for the host's records: no invitation, no second Teams meeting.
    assert in_personal.attendees == []
    assert (in_personal.is_online_meeting, in_personal.join_url) == (False, "")
    assert in_personal.subject == in_main.subject
    assert (in_personal.start, in_personal.end) == (in_main.start, in_main.end)
    # Megan got one invitation, from the main booking calendar's event, with its link.
    invitations = [e for e in o365.control.events(MEGAN) if e.organizer == ADELE]
    assert [(e.subject, e.join_url) for e in invitations] == [(in_main.subject, in_main.join_url)]

    booking = Booking.objects.get()
    assert _links(booking) == (in_main.join_url,) * 3
    assert BookingEmail.objects.filter(kind__in=(JOIN_LINK, JOIN_LINK_CHANGE)).count() == 1
    page = client.get(_confirmation(made)).text
    assert f'href="{in_main.join_url}"' in page

    # A move updates both, and still invites once.
    new_start, _ = offered(client, "intro", first=tomorrow())[3]
    assert client.post(made["reschedule_url"], {"start": new_start}).status_code == 302
    for row in (main, extra):
        row.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=True):
            assert push(row) == "synced"
    invitations = [e for e in o365.control.events(MEGAN) if e.organizer == ADELE]
    assert [e.join_url for e in invitations] == [in_main.join_url]
    [in_personal] = ours(o365, calendar="Personal")
    assert (in_personal.attendees, in_personal.join_url) == ([], "")


def test_an_event_made_again_without_a_meeting_leaves_no_dead_link(
    client, adele, intro, o365, django_capture_on_commit_callbacks
):
    made, row = book_one(client)
    with django_capture_on_commit_callbacks(execute=True):
        assert push(row) == "synced"
    [first] = ours(o365)
    booking = Booking.objects.get()
    assert _links(booking) == (first.join_url,) * 3

    # The host deletes the event in Outlook, and the calendar can no longer make Teams
    # meetings; the booking moves, so the push makes the event again, without a meeting.
    o365.control.event_delete(ADELE, first.id)
    o365.control.mailbox_online_meeting_providers_set(ADELE, [])
    new_start, _ = offered(client, "intro", first=tomorrow())[3]
    assert client.post(made["reschedule_url"], {"start": new_start}).status_code == 302
    row.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        assert push(row) == "synced"
    [second] = ours(o365)
    assert (second.is_online_meeting, second.join_url) == (False, "")

    row.refresh_from_db()
    assert row.online_meeting_url == ""
    assert _links(booking) == ("", "", "")
    assert first.join_url not in client.get(_confirmation(made)).text
    assert BookingEmail.objects.filter(kind=JOIN_LINK_CHANGE).count() == 0


def test_after_switching_accounts_the_new_accounts_link_is_the_bookings(
    client, adele, intro, o365, django_capture_on_commit_callbacks
):
    made, row = book_one(client)
    confirmations_sent()
    with django_capture_on_commit_callbacks(execute=True):
        assert push(row) == "synced"
    [old] = ours(o365)
    booking = Booking.objects.get()
    [first_email] = BookingEmail.objects.filter(kind=JOIN_LINK)
    assert booking_emails_deliver(email_id=first_email.pk).status == "synced"

    client.post(reverse("calendars:disconnect", args=[adele.pk]))
    megan = connect_host(client, o365, address=MEGAN)
    # Until the new account's event is made, the old account's link is not the booking's.
    assert _links(booking) == ("", "", "")

    [new_row] = PushedEvent.objects.filter(calendar__connection=megan)
    with django_capture_on_commit_callbacks(execute=True):
        assert push(new_row) == "synced"
    [new] = [e for e in o365.control.events(MEGAN, calendar="Calendar") if e.transaction_id]
    assert new.join_url.startswith("http")
    assert new.join_url != old.join_url

    assert _links(booking) == (new.join_url,) * 3
    page = client.get(_confirmation(made)).text
    assert f'href="{new.join_url}"' in page
    assert old.join_url not in page
    # The invitee's link is gone from the booking: they are given the new one, once.
    [change] = BookingEmail.objects.filter(kind=JOIN_LINK_CHANGE)
    mail.outbox.clear()
    assert booking_emails_deliver(email_id=change.pk).status == "synced"
    [message] = mail.outbox
    assert new.join_url in message.body
    assert old.join_url not in message.body


def test_a_move_after_the_main_calendar_changed_still_invites_once(
    client, adele, intro, o365, django_capture_on_commit_callbacks
):
    """The page's main booking calendar becomes another one, which held the copy: at the
    next move the two swap roles. The old event stops inviting (Exchange cancels the
    invitee's copy of it), the new main event invites them, and its link is the one
    shown and emailed."""
    calendar, personal = calendar_of(adele, "Calendar"), calendar_of(adele, "Personal")
    PageCalendar.objects.create(page=intro, calendar=personal, add_bookings=True)
    start, _ = offered(client, "intro", first=tomorrow())[0]
    made = book(client, "intro", start=start, name="Megan", email=MEGAN, answers={}).json()
    confirmations_sent()
    rows = rows_for(made["id"])
    with django_capture_on_commit_callbacks(execute=True):
        assert [push(row) for row in rows] == ["synced", "synced"]
    [old] = ours(o365)

    PageCalendar.objects.filter(page=intro).delete()
    PageCalendar.objects.create(page=intro, calendar=calendar, add_bookings=True)
    intro.main_calendar = personal
    intro.save(update_fields=["main_calendar"])
    new_start, _ = offered(client, "intro", first=tomorrow())[3]
    assert client.post(made["reschedule_url"], {"start": new_start}).status_code == 302
    for row in reversed(rows):  # the new main calendar's push first
        row.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=True):
            assert push(row) == "synced"

    [in_personal] = ours(o365, calendar="Personal")
    [in_calendar] = ours(o365)
    assert in_personal.join_url.startswith("http")
    assert in_personal.join_url != old.join_url
    assert in_calendar.attendees == []
    invitations = [
        e for e in o365.control.events(MEGAN) if e.organizer == ADELE and not e.is_cancelled
    ]
    assert [e.join_url for e in invitations] == [in_personal.join_url]
    assert _links(Booking.objects.get()) == (in_personal.join_url,) * 3
    assert BookingEmail.objects.filter(kind=JOIN_LINK_CHANGE).count() == 1


def test_a_page_no_longer_online_drops_the_link_at_the_next_move(
    client, adele, intro, o365, django_capture_on_commit_callbacks
):
    made, row = book_one(client)
    with django_capture_on_commit_callbacks(execute=True):
        assert push(row) == "synced"
    [event] = ours(o365)
    intro.location_kind, intro.location_details = "phone", "+44 20 7946 0958"
    intro.save(update_fields=["location_kind", "location_details"])
    new_start, _ = offered(client, "intro", first=tomorrow())[3]
    assert client.post(made["reschedule_url"], {"start": new_start}).status_code == 302
    row.refresh_from_db()
    assert push(row) == "synced"
    row.refresh_from_db()
    assert row.online_meeting_url == ""
    assert _links(Booking.objects.get()) == ("", "", "")
    assert event.join_url not in client.get(_confirmation(made)).text
