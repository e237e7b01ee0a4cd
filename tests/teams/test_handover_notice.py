"""A round-robin meeting handed to another member by a move: the member who had it is
told (to whom, and why), and the ``booking.rescheduled`` webhook says who had it."""

from __future__ import annotations

import json

import pytest
from django.core import mail

from booking.email_outbox import booking_emails_deliver
from booking.models import Booking, BookingEmail
from tests.support.booking import at, book, workday
from tests.teams.conftest import make_team_page

pytestmark = pytest.mark.django_db


def _hand_over(client, org, host, teammate, *, why: str):
    """Dana books Bob on a round-robin page; Bob then leaves the page (or his calendar
    disconnects) and Dana moves the meeting, which Carol takes."""
    from accounts.models import Membership
    from accounts.services import member_remove
    from booking.services.teams import Seat, team_seats_set
    from calendars.models import CalendarConnection, ConnectionStatus

    _, carol = org
    page = make_team_page(
        org=org, admin=host, kind="round_robin", users=[teammate, carol], slug="rr"
    )
    day = workday("Europe/London")
    answer = book(client, "rr", start=at(day, 10))
    assert answer.json()["host"] == {"name": "Bob Teammate"}
    if why == "left the page":
        team_seats_set(page=page, seats=[Seat(user_id=carol.pk)])
    elif why == "left the organization":
        member_remove(membership=Membership.objects.get(user=teammate))
    else:
        CalendarConnection.objects.filter(host=teammate).update(
            status=ConnectionStatus.DISCONNECTED
        )
    moved = client.post(answer.json()["reschedule_url"], {"start": at(day, 15).isoformat()})
    assert moved.status_code == 302
    assert Booking.objects.get().host == carol
    return carol


def _sent_to(address: str) -> list:
    mail.outbox.clear()
    for email in BookingEmail.objects.filter(kind__in=["rescheduled", "handed_over"]):
        booking_emails_deliver(email_id=email.pk)
    return [message for message in mail.outbox if message.to == [address]]


@pytest.mark.parametrize(
    ("why", "because"),
    [
        ("left the page", "you are no longer one of this page's members."),
        ("left the organization", "you are no longer one of this page's members."),
        (
            "calendar disconnected",
            "your calendar is not connected, and this page gives its meetings to members "
            "whose calendar is.",
        ),
    ],
)
def test_the_member_a_move_took_the_meeting_from_is_told_to_whom_and_why(
    client, org, host, teammate, team_calendars, why, because
):
    _hand_over(client, org, host, teammate, why=why)
    (to_bob,) = _sent_to(teammate.email)
    assert to_bob.subject == (
        "Handed over: Team round_robin with Dana Invitee is now with Carol Member"
    )
    assert to_bob.body.startswith(
        "Your meeting with Dana Invitee has moved to a new time, and it is now with "
        f"Carol Member: {because}"
    )
    assert "Invitee: Dana Invitee <dana@example.com>" in to_bob.body
    assert "Now:" in to_bob.body
    assert "Was:" in to_bob.body
    assert "taken out of your Outlook calendar" in to_bob.body
    assert not to_bob.attachments  # nothing for him to add to a calendar


def test_the_handover_email_is_in_the_members_language_and_sent_once(
    client, org, host, teammate, team_calendars
):
    teammate.language = "de"
    teammate.save(update_fields=["language"])
    _hand_over(client, org, host, teammate, why="left the page")
    (to_bob,) = _sent_to(teammate.email)
    assert to_bob.subject == (
        "Übergeben: Team round_robin mit Dana Invitee ist jetzt bei Carol Member"
    )
    assert to_bob.body.startswith(
        "Ihr Termin mit Dana Invitee wurde verschoben und ist jetzt bei Carol Member: "
        "Sie gehören nicht mehr zu den Mitgliedern dieser Seite."
    )
    assert _sent_to(teammate.email) == []  # a retry of the row sends nothing again


def test_a_member_who_turned_off_cancellation_emails_gets_no_handover_email(
    client, org, host, teammate, team_calendars
):
    teammate.notify_cancelled = False
    teammate.save(update_fields=["notify_cancelled"])
    _hand_over(client, org, host, teammate, why="left the page")
    assert _sent_to(teammate.email) == []


def test_an_ordinary_move_sends_no_handover_email(client, org, host, teammate, team_calendars):
    _, carol = org
    make_team_page(org=org, admin=host, kind="round_robin", users=[teammate, carol], slug="rr")
    day = workday("Europe/London")
    answer = book(client, "rr", start=at(day, 10))
    client.post(answer.json()["reschedule_url"], {"start": at(day, 15).isoformat()})
    assert not BookingEmail.objects.filter(kind="handed_over").exists()
    assert [m.to for m in _sent_to(teammate.email)] == [[teammate.email]]  # "Dana moved…"


def test_the_rescheduled_webhook_says_who_had_the_meeting(
    client, org, host, teammate, team_calendars
):
    from integrations.models import EventType, WebhookDelivery
    from integrations.webhooks import endpoint_create

    organization, carol = org
    endpoint_create(
        owner=host,
        url="http://127.0.0.1:9/all",
        events=[EventType.BOOKING_CREATED, EventType.BOOKING_RESCHEDULED],
        organization=organization,
    )
    _hand_over(client, org, host, teammate, why="left the page")
    bodies = [json.loads(row.body) for row in WebhookDelivery.objects.order_by("pk")]
    assert [body["type"] for body in bodies] == ["booking.created", "booking.rescheduled"]
    created, moved = (body["data"] for body in bodies)
    assert "previous_host" not in created  # only a move says who had it before
    assert moved["host"] == {"name": "Carol Member", "email": carol.email}
    assert moved["previous_host"] == {"name": "Bob Teammate", "email": teammate.email}
    assert moved["rescheduled_from"] is not None


def test_a_move_that_keeps_the_host_has_a_null_previous_host(
    client, org, host, teammate, team_calendars
):
    from integrations.models import EventType, WebhookDelivery
    from integrations.webhooks import endpoint_create

    organization, carol = org
    endpoint_create(
        owner=host,
        url="http://127.0.0.1:9/all",
        events=[EventType.BOOKING_RESCHEDULED],
        organization=organization,
    )
    make_team_page(org=org, admin=host, kind="round_robin", users=[teammate, carol], slug="rr")
    day = workday("Europe/London")
    answer = book(client, "rr", start=at(day, 10))
    client.post(answer.json()["reschedule_url"], {"start": at(day, 15).isoformat()})
    data = json.loads(WebhookDelivery.objects.get().body)["data"]
    assert data["host"]["name"] == "Bob Teammate"
    assert data["previous_host"] is None


def test_the_members_own_endpoint_hears_the_meeting_left_them_and_then_nothing(
    client, org, host, teammate, team_calendars
):
    """Bob's personal endpoint followed his meetings: the handover's booking.rescheduled
    (host Carol, previous_host Bob) is the last it hears of this one; Carol's moves later
    are hers."""
    from booking.services.bookings import booking_reschedule
    from integrations.models import EventType, WebhookDelivery
    from integrations.webhooks import endpoint_create

    everything = [EventType.BOOKING_CREATED, EventType.BOOKING_RESCHEDULED]
    everything.append(EventType.BOOKING_CANCELLED)
    bobs, _secret = endpoint_create(owner=teammate, url="http://127.0.0.1:9/bob", events=everything)
    carol = _hand_over(client, org, host, teammate, why="left the page")
    booking = Booking.objects.get()
    booking_reschedule(booking=booking, start=booking.start.replace(hour=16))

    bodies = [
        json.loads(row.body) for row in WebhookDelivery.objects.filter(endpoint=bobs).order_by("pk")
    ]
    assert [body["type"] for body in bodies] == ["booking.created", "booking.rescheduled"]
    moved = bodies[1]["data"]
    assert moved["host"] == {"name": "Carol Member", "email": carol.email}
    assert moved["previous_host"] == {"name": "Bob Teammate", "email": teammate.email}
