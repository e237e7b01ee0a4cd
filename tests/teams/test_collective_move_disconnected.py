"""A collective meeting moved while its organizer's calendar is disconnected.

The one event lives in the organizer's calendar and Exchange tells the other members
(its attendees). Left with the organizer, the move waited in their account: the other
members' Outlook kept the old time until the organizer reconnected, if ever. The move
now gives the event to a member whose calendar is connected (as a new booking would),
the organizer attending; the old event is taken out when they reconnect, once.
"""

from __future__ import annotations

import pytest

from booking.models import Booking, BookingCohost
from calendars.models import CalendarConnection, ConnectionStatus, PushedEvent, PushState
from tests.support.booking import at, book, workday
from tests.teams.conftest import make_team_page

pytestmark = pytest.mark.django_db


def _book_then_disconnect(client, org, host, teammate, *, also_carol=False):
    _, carol = org
    make_team_page(org=org, admin=host, kind="collective", users=[teammate, carol], slug="all")
    day = workday("Europe/London")
    answer = book(client, "all", start=at(day, 10))
    assert answer.status_code == 201, answer.content
    assert Booking.objects.get().host == teammate  # Bob organizes (first in line)
    disconnected = [teammate, carol] if also_carol else [teammate]
    CalendarConnection.objects.filter(host__in=disconnected).update(
        status=ConnectionStatus.DISCONNECTED
    )
    moved = client.post(answer.json()["reschedule_url"], {"start": at(day, 15).isoformat()})
    assert moved.status_code == 302
    return day, carol


def test_a_collective_meeting_moved_while_its_organizer_is_disconnected_reaches_everyone(
    client, org, host, teammate, team_calendars
):
    day, carol = _book_then_disconnect(client, org, host, teammate)
    booking = Booking.objects.get()
    assert booking.start == at(day, 15)
    # Carol's calendar is connected: she organizes now, Bob attends.
    assert booking.host == carol
    assert list(BookingCohost.objects.values_list("user_id", flat=True)) == [teammate.pk]
    rows = {
        row.calendar_id: row for row in PushedEvent.objects.filter(source=booking.mirror_source)
    }
    bobs, carols = rows[team_calendars[teammate.pk].pk], rows[team_calendars[carol.pk].pk]
    assert carols.wanted
    assert carols.state == PushState.PENDING  # goes out now
    assert carols.payload["start"].startswith(at(day, 15).strftime("%Y-%m-%dT%H:%M"))
    attendees = [a["email"] for a in carols.payload["attendees"]]
    assert attendees[0] == "dana@example.com"
    assert "bob@contoso.example" in attendees
    # Bob's old event is not moved in his account: it is taken out when he reconnects.
    assert not bobs.wanted
    assert len(rows) == 2
    # Bob reconnects: his old event is deleted (once), nothing is made in his calendar
    # again, and Carol's event is left as it is.
    from calendars.signals import connection_established

    connection = CalendarConnection.objects.get(host=teammate)
    connection.status = ConnectionStatus.CONNECTED
    connection.save(update_fields=["status"])
    connection_established.send(sender=CalendarConnection, connection=connection)
    after = {
        row.calendar_id: row for row in PushedEvent.objects.filter(source=booking.mirror_source)
    }
    assert not after[bobs.calendar_id].wanted
    assert after[carols.calendar_id].version == carols.version
    assert len(after) == 2


def test_a_collective_meeting_stays_with_its_organizer_when_nobody_is_connected(
    client, org, host, teammate, team_calendars
):
    day, carol = _book_then_disconnect(client, org, host, teammate, also_carol=True)
    booking = Booking.objects.get()
    assert (booking.start, booking.host) == (at(day, 15), teammate)
    assert list(BookingCohost.objects.values_list("user_id", flat=True)) == [carol.pk]
    (row,) = PushedEvent.objects.filter(source=booking.mirror_source)
    # Waits in Bob's account, moved, for when he reconnects (nobody could take it now).
    assert row.calendar_id == team_calendars[teammate.pk].pk
    assert row.wanted
    assert row.state == PushState.WAITING
    assert row.payload["start"].startswith(at(day, 15).strftime("%Y-%m-%dT%H:%M"))
