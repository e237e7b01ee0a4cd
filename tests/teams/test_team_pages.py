"""Team pages: round-robin offers a slot when one member is free and gives it to the
right one; collective needs everyone and makes one meeting for all."""

from __future__ import annotations

from datetime import timedelta

import pytest

from booking.models import Booking, BookingCohost
from calendars.models import BusyInterval, PushedEvent
from tests.support.booking import at, book, slots_url, workday
from tests.teams.conftest import make_team_page

pytestmark = pytest.mark.django_db


def _busy(calendar, start, minutes=30, name="x"):
    BusyInterval.objects.create(
        calendar=calendar,
        remote_event_id=f"{name}-{start:%H%M}",
        start=start,
        end=start + timedelta(minutes=minutes),
    )


def _starts(client, slug, day):
    answer = client.get(
        slots_url(slug, start=day.isoformat(), end=day.isoformat(), tz="Europe/London")
    )
    assert answer.status_code == 200
    return {slot["start"][11:16] for slot in answer.json()["slots"]}


def test_round_robin_offers_a_time_while_one_member_is_free(
    client, org, host, teammate, team_calendars
):
    _, carol = org
    page = make_team_page(
        org=org, admin=host, kind="round_robin", users=[teammate, carol], slug="rr"
    )
    day = workday("Europe/London")
    _busy(team_calendars[teammate.pk], at(day, 10))
    assert "10:00" in _starts(client, "rr", day)
    _busy(team_calendars[carol.pk], at(day, 10))
    assert "10:00" not in _starts(client, "rr", day)
    assert "10:30" in _starts(client, "rr", day)
    # Alice (the admin who made the page) is no member: her busy time does not count.
    _busy(team_calendars[host.pk], at(day, 11))
    assert "11:00" in _starts(client, "rr", day)
    assert page.team_members.count() == 2


def test_round_robin_gives_the_booking_to_the_free_member_and_says_who(
    client, org, host, teammate, team_calendars
):
    _, carol = org
    make_team_page(org=org, admin=host, kind="round_robin", users=[teammate, carol], slug="rr")
    day = workday("Europe/London")
    _busy(team_calendars[teammate.pk], at(day, 10))
    answer = book(client, "rr", start=at(day, 10))
    assert answer.status_code == 201, answer.content
    assert answer.json()["host"] == {"name": "Carol Member"}
    booking = Booking.objects.get()
    assert booking.host == carol
    # The event goes to Carol's own calendar only.
    rows = PushedEvent.objects.filter(source=booking.mirror_source)
    assert [row.calendar_id for row in rows] == [team_calendars[carol.pk].pk]
    # Her personal time is now taken: the team page cannot give her 10:00 again.
    assert "10:00" not in _starts(client, "rr", day)


def test_round_robin_priority_then_fewest_bookings_then_lowest_id(client, org, host, teammate):
    from booking.services.teams import Seat

    _, carol = org
    make_team_page(
        org=org,
        admin=host,
        kind="round_robin",
        slug="rr",
        users=[Seat(teammate.pk, priority=0), Seat(carol.pk, priority=5)],
    )
    day = workday("Europe/London")
    hosts = [
        book(client, "rr", start=at(day, h), email=f"i{h}@example.com").json()["host"]["name"]
        for h in (9, 10)
    ]
    # Carol has priority: she gets 9:00; at 10:00 she is still free and still first.
    assert hosts == ["Carol Member", "Carol Member"]

    make_team_page(org=org, admin=host, kind="round_robin", slug="fair", users=[teammate, carol])
    names = [
        book(client, "fair", start=at(day, h), email=f"f{h}@example.com").json()["host"]["name"]
        for h in (11, 12, 13, 14)
    ]
    # Equal priority: fewest bookings of this page first, ties to the lower id (Bob).
    assert names[0] == "Bob Teammate"
    assert sorted(names) == ["Bob Teammate", "Bob Teammate", "Carol Member", "Carol Member"]


def test_weights_share_bookings_in_proportion(client, org, host, teammate):
    from booking.services.teams import Seat

    _, carol = org
    make_team_page(
        org=org,
        admin=host,
        kind="round_robin",
        slug="weighted",
        users=[Seat(teammate.pk, weight=1), Seat(carol.pk, weight=3)],
    )
    day = workday("Europe/London", days_ahead=3)
    names = [
        book(
            client,
            "weighted",
            start=at(day, 9, 30 * n // 30 * 0) + timedelta(minutes=30 * n),
            email=f"w{n}@example.com",
        ).json()["host"]["name"]
        for n in range(8)
    ]
    assert names.count("Carol Member") == 6
    assert names.count("Bob Teammate") == 2


def test_collective_needs_everyone_and_makes_one_event_with_the_others_as_attendees(
    client, org, host, teammate, team_calendars
):
    _, carol = org
    make_team_page(org=org, admin=host, kind="collective", users=[carol, teammate], slug="all")
    day = workday("Europe/London")
    _busy(team_calendars[carol.pk], at(day, 10))
    assert "10:00" not in _starts(client, "all", day)
    answer = book(client, "all", start=at(day, 11))
    assert answer.status_code == 201, answer.content
    assert answer.json()["host"] == [{"name": "Bob Teammate"}, {"name": "Carol Member"}]
    booking = Booking.objects.get()
    assert booking.host == teammate  # the lower id organizes
    assert list(BookingCohost.objects.values_list("user_id", flat=True)) == [carol.pk]
    rows = list(PushedEvent.objects.filter(source=booking.mirror_source))
    assert [row.calendar_id for row in rows] == [team_calendars[teammate.pk].pk]
    attendees = [a["email"] for a in rows[0].payload["attendees"]]
    assert attendees == ["dana@example.com", "carol@contoso.example"]
    assert rows[0].payload["online_meeting"] is True  # one Teams meeting, made once


def test_a_team_booking_keeps_the_pages_location_as_booked(client, org, host, teammate):
    _, carol = org
    page = make_team_page(
        org=org,
        admin=host,
        kind="round_robin",
        users=[teammate, carol],
        slug="rr",
        location_kind="in_person",
        location_details="Contoso House, 1 Main Street",
    )
    answer = book(client, "rr", start=at(workday("Europe/London"), 11))
    assert answer.status_code == 201, answer.content
    page.location_details = "Elsewhere"
    page.save(update_fields=["location_details"])
    booking = Booking.objects.get()
    assert (booking.location_kind, booking.location_details) == (
        "in_person",
        "Contoso House, 1 Main Street",
    )
    assert "Contoso House, 1 Main Street" in booking.location_text


def test_a_members_personal_page_and_team_pages_never_double_book_them(
    client, org, host, teammate, team_calendars
):
    from booking.services.pages import page_create

    _, carol = org
    page_create(host=carol, fields={"title": "Carol's", "slug": "carol"})
    make_team_page(org=org, admin=host, kind="collective", users=[carol, teammate], slug="all")
    make_team_page(org=org, admin=host, kind="round_robin", users=[carol], slug="solo")
    day = workday("Europe/London")
    assert book(client, "all", start=at(day, 10)).status_code == 201
    # Carol attends the collective meeting: her own page and the other team page see it.
    assert "10:00" not in _starts(client, "carol", day)
    assert book(client, "carol", start=at(day, 10)).status_code == 409
    assert book(client, "solo", start=at(day, 10)).status_code == 409
    assert book(client, "carol", start=at(day, 11)).status_code == 201
    assert "11:00" not in _starts(client, "all", day)
    assert book(client, "all", start=at(day, 11)).status_code == 409


def test_personal_pages_answer_with_their_host(client, host):
    from booking.services.pages import page_create

    page_create(host=host, fields={"title": "Mine", "slug": "mine"})
    answer = book(client, "mine", start=at(workday("Europe/London"), 10))
    assert answer.json()["host"] == {"name": "Alice Host"}


def test_a_removed_member_leaves_team_pages_and_their_own_pages_close(client, org, host, teammate):
    from accounts.models import Membership
    from accounts.services import member_remove
    from booking.models import BookingPage
    from booking.services.pages import page_create

    _, carol = org
    own = page_create(host=carol, fields={"title": "Carol's", "slug": "carol"})
    day = workday("Europe/London")
    kept = book(client, "carol", start=at(day, 9))
    assert kept.status_code == 201
    make_team_page(org=org, admin=host, kind="collective", users=[carol, teammate], slug="all")
    member_remove(membership=Membership.objects.get(user=carol))
    own.refresh_from_db()
    assert not own.is_active
    assert BookingPage.objects.filter(pk=own.pk).exists()
    assert Booking.objects.filter(host=carol).count() == 1  # kept
    assert (
        client.get(slots_url("carol", start=day.isoformat(), end=day.isoformat())).status_code
        == 404
    )
    # The collective page now needs only Bob, who gets the booking.
    answer = book(client, "all", start=at(day, 10))
    assert answer.json()["host"] == [{"name": "Bob Teammate"}]


def test_a_team_booking_moves_only_to_a_time_its_people_are_free(
    org, host, teammate, team_calendars
):
    from booking.services.bookings import Invitee, SlotTaken, booking_create, booking_reschedule

    _, carol = org
    rr = make_team_page(org=org, admin=host, kind="round_robin", users=[teammate, carol], slug="rr")
    both = make_team_page(
        org=org, admin=host, kind="collective", users=[teammate, carol], slug="all"
    )
    day = workday("Europe/London")
    dana = Invitee(name="Dana", email="dana@example.com", time_zone="Europe/Paris")
    assigned = booking_create(page=rr, start=at(day, 9), invitee=dana)
    other = carol if assigned.host_id == teammate.pk else teammate
    # The assigned member is busy at 10:00 (the other one is not): the move is refused
    # rather than handed to someone else.
    _busy(team_calendars[assigned.host_id], at(day, 10))
    with pytest.raises(SlotTaken):
        booking_reschedule(booking=assigned, start=at(day, 10))
    moved = booking_reschedule(booking=assigned, start=at(day, 11))
    assert (moved.start, moved.host_id) == (at(day, 11), assigned.host_id)

    together = booking_create(page=both, start=at(day, 14), invitee=dana)
    _busy(team_calendars[other.pk], at(day, 15))
    with pytest.raises(SlotTaken):
        booking_reschedule(booking=together, start=at(day, 15))
    assert booking_reschedule(booking=together, start=at(day, 16)).start == at(day, 16)


@pytest.mark.parametrize("bobs_account", ["disconnected", "never connected"])
def test_a_collective_meeting_is_organized_by_a_member_whose_calendar_is_connected(
    client, org, host, teammate, bobs_account
):
    """Bob (the lower id) would organize, but his calendar cannot take the event now: the
    one event goes to Carol's calendar with Bob as an attendee, so both still get it
    (rather than it waiting in Bob's account, or going nowhere at all)."""
    from calendars.models import CalendarConnection, ConnectionStatus
    from tests.teams.conftest import connect

    _, carol = org
    carols = connect(carol, "carol@contoso.example")
    if bobs_account == "disconnected":
        connect(teammate, "bob@contoso.example")
        CalendarConnection.objects.filter(host=teammate).update(
            status=ConnectionStatus.DISCONNECTED
        )
    make_team_page(org=org, admin=host, kind="collective", users=[carol, teammate], slug="all")
    answer = book(client, "all", start=at(workday("Europe/London"), 11))
    assert answer.status_code == 201, answer.content
    assert answer.json()["host"] == [{"name": "Carol Member"}, {"name": "Bob Teammate"}]
    booking = Booking.objects.get()
    assert booking.host == carol
    assert list(BookingCohost.objects.values_list("user_id", flat=True)) == [teammate.pk]
    rows = list(PushedEvent.objects.filter(source=booking.mirror_source))
    assert [row.calendar_id for row in rows] == [carols.pk]
    attendees = [a["email"] for a in rows[0].payload["attendees"]]
    assert attendees[0] == "dana@example.com"
    assert attendees[1] in ("bob@contoso.example", "bob@example.com")


def test_a_round_robin_meeting_is_offered_only_the_times_its_member_can_move_to(
    client, org, host, teammate, team_calendars
):
    """Bob has Dana's round-robin meeting; moving it keeps it with Bob, so its reschedule
    link offers the times Bob is free, not every time some member is (those were refused
    with "just taken" however often Dana tried)."""
    _, carol = org
    make_team_page(org=org, admin=host, kind="round_robin", users=[teammate, carol], slug="rr")
    day = workday("Europe/London")
    answer = book(client, "rr", start=at(day, 10))
    assert answer.json()["host"] == {"name": "Bob Teammate"}
    _busy(team_calendars[teammate.pk], at(day, 14))  # Carol is free then
    token = answer.json()["reschedule_url"].split("/bookings/")[1].split("/")[0]
    offered = client.get(
        slots_url(
            "rr", start=day.isoformat(), end=day.isoformat(), tz="Europe/London", reschedule=token
        )
    ).json()["slots"]
    starts = {slot["start"][11:16] for slot in offered}
    assert "14:00" in _starts(client, "rr", day)  # a new invitee may still have Carol then
    assert "14:00" not in starts
    assert "15:00" in starts
    moved = client.post(answer.json()["reschedule_url"], {"start": at(day, 15).isoformat()})
    assert moved.status_code == 302
    assert Booking.objects.get().host == teammate


@pytest.mark.parametrize("bobs_account", ["disconnected", "never connected"])
def test_round_robin_gives_meetings_only_to_members_whose_calendar_is_connected(
    client, org, host, teammate, bobs_account
):
    """Bob's busy time is unknown (he looks free all day) and a meeting given to him
    could only wait for him to reconnect: while Carol's calendar is connected, the page
    offers her free times and gives her the meetings, though Bob is first in line."""
    from calendars.models import CalendarConnection, ConnectionStatus
    from tests.teams.conftest import connect

    _, carol = org
    carols = connect(carol, "carol@contoso.example")
    if bobs_account == "disconnected":
        connect(teammate, "bob@contoso.example")
        CalendarConnection.objects.filter(host=teammate).update(
            status=ConnectionStatus.DISCONNECTED
        )
    make_team_page(org=org, admin=host, kind="round_robin", users=[teammate, carol], slug="rr")
    day = workday("Europe/London")
    _busy(carols, at(day, 10))
    assert "10:00" not in _starts(client, "rr", day)
    answer = book(client, "rr", start=at(day, 11))
    assert answer.status_code == 201, answer.content
    assert answer.json()["host"] == {"name": "Carol Member"}
    assert book(client, "rr", start=at(day, 10)).status_code == 409
    # Team tells the admin why Bob gets none.
    client.force_login(host)
    team = client.get("/setup/team/").content.decode()
    note = team.split('data-testid="not-connected"')[1].split("</p>")[0]
    assert "Bob Teammate" in note
    assert "Carol" not in note
    assert "They get no meetings from this page until they connect it" in note


def test_round_robin_with_no_calendar_connected_still_takes_bookings(client, org, host, teammate):
    _, carol = org
    make_team_page(org=org, admin=host, kind="round_robin", users=[teammate, carol], slug="rr")
    answer = book(client, "rr", start=at(workday("Europe/London"), 11))
    assert answer.json()["host"] == {"name": "Bob Teammate"}


@pytest.mark.parametrize("removed_from", ["the page", "the organization"])
def test_a_round_robin_meeting_of_a_removed_member_moves_to_whoever_is_free(
    client, org, host, teammate, team_calendars, removed_from
):
    """Bob had Dana's round-robin meeting, then left the page (or the organization): its
    reschedule link offers the page's times from the members left (Carol), and the move
    gives the meeting to her; the event leaves Bob's calendar and lands in hers."""
    from accounts.models import Membership
    from accounts.services import member_remove
    from booking.services.teams import Seat, team_seats_set

    _, carol = org
    page = make_team_page(
        org=org, admin=host, kind="round_robin", users=[teammate, carol], slug="rr"
    )
    day = workday("Europe/London")
    answer = book(client, "rr", start=at(day, 10))
    assert answer.json()["host"] == {"name": "Bob Teammate"}
    if removed_from == "the page":
        team_seats_set(page=page, seats=[Seat(user_id=carol.pk)])
    else:
        member_remove(membership=Membership.objects.get(user=teammate))
    _busy(team_calendars[carol.pk], at(day, 14))
    token = answer.json()["reschedule_url"].split("/bookings/")[1].split("/")[0]
    offered = client.get(
        slots_url(
            "rr", start=day.isoformat(), end=day.isoformat(), tz="Europe/London", reschedule=token
        )
    ).json()["slots"]
    starts = {slot["start"][11:16] for slot in offered}
    assert "15:00" in starts
    assert "14:00" not in starts  # Carol is busy then; Bob no longer counts
    page_text = client.get(answer.json()["reschedule_url"]).content.decode()
    assert "Bob Teammate can no longer take this meeting" in page_text
    moved = client.post(answer.json()["reschedule_url"], {"start": at(day, 15).isoformat()})
    assert moved.status_code == 302
    booking = Booking.objects.get()
    assert (booking.host, booking.start) == (carol, at(day, 15))
    rows = {row.calendar_id: row.wanted for row in PushedEvent.objects.all()}
    assert rows == {team_calendars[teammate.pk].pk: False, team_calendars[carol.pk].pk: True}


def test_a_round_robin_meeting_of_a_disconnected_member_moves_to_a_connected_one(
    client, org, host, teammate, team_calendars
):
    """Bob's Office 365 disconnected after he got Dana's meeting: Carol's is connected, so
    the move gives it to her, and Bob's copy is withdrawn (not pushed when he reconnects)."""
    from calendars.models import CalendarConnection, ConnectionStatus

    _, carol = org
    make_team_page(org=org, admin=host, kind="round_robin", users=[teammate, carol], slug="rr")
    day = workday("Europe/London")
    answer = book(client, "rr", start=at(day, 10))
    assert answer.json()["host"] == {"name": "Bob Teammate"}
    CalendarConnection.objects.filter(host=teammate).update(status=ConnectionStatus.DISCONNECTED)
    moved = client.post(answer.json()["reschedule_url"], {"start": at(day, 15).isoformat()})
    assert moved.status_code == 302
    assert Booking.objects.get().host == carol
    rows = {row.calendar_id: row.wanted for row in PushedEvent.objects.all()}
    assert rows == {team_calendars[teammate.pk].pk: False, team_calendars[carol.pk].pk: True}


def test_a_handed_over_meeting_tells_the_invitee_and_is_new_to_its_new_member(
    client, org, host, teammate, team_calendars
):
    """Bob left the page after Dana booked him; her move gives the meeting to Carol. Dana
    is told she now meets Carol (not just "your meeting with Carol has moved"), and Carol,
    who never had it, gets it as a new meeting rather than "Dana moved their meeting"."""
    from django.core import mail

    from booking.email_outbox import booking_emails_deliver
    from booking.models import BookingEmail
    from booking.services.teams import Seat, team_seats_set

    _, carol = org
    page = make_team_page(
        org=org, admin=host, kind="round_robin", users=[teammate, carol], slug="rr"
    )
    day = workday("Europe/London")
    answer = book(client, "rr", start=at(day, 10))
    team_seats_set(page=page, seats=[Seat(user_id=carol.pk)])
    client.post(answer.json()["reschedule_url"], {"start": at(day, 15).isoformat()})
    mail.outbox.clear()
    booking_emails_deliver(email_id=BookingEmail.objects.get(kind="rescheduled").pk)
    sent = {message.to[0]: message for message in mail.outbox}
    to_dana, to_carol = sent["dana@example.com"], sent[carol.email]
    assert to_dana.body.startswith(
        "Your meeting has moved, and it is now with Carol Member: "
        "Bob Teammate can no longer take it."
    )
    assert to_dana.subject.startswith("Rescheduled: Team round_robin with Carol Member")
    assert to_carol.body.startswith(
        "Bob Teammate can no longer take their meeting with Dana Invitee: it has moved "
        "to a new time, and it is now yours."
    )
    assert to_carol.subject.startswith("Confirmed: Team round_robin with Dana Invitee")
    assert "moved their meeting with you" not in to_carol.body
