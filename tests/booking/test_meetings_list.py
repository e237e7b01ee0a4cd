"""Setup → Meetings: tabs, grouping by day, filters, search, pagination, calendar states."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from booking.meeting_selectors import MeetingFilters, Tab, calendar_standings, meetings_filtered
from booking.models import BookingStatus
from calendars.models import Calendar, CalendarConnection, ConnectionStatus, PushedEvent, PushState
from tests.support.meetings import meeting, tomorrow_ten

pytestmark = pytest.mark.django_db

LIST = reverse("meetings:list")


@pytest.fixture
def soon():
    return tomorrow_ten()


def _names(response) -> list[str]:
    html = response.content.decode()
    return [part.split("</a>")[0] for part in html.split('class="invitee-name">')[1:]]


def test_upcoming_is_the_default_tab_soonest_first_grouped_by_day(host_client, page, soon):
    meeting(page, soon + timedelta(days=1), name="Later")
    meeting(page, soon, name="Sooner")
    meeting(page, soon + timedelta(hours=2), name="Same day")
    meeting(page, soon - timedelta(days=3), name="Past one")
    meeting(page, soon + timedelta(hours=1), name="Gone", status=BookingStatus.CANCELLED)
    response = host_client.get(LIST)
    assert response.status_code == 200
    assert _names(response) == ["Sooner", "Same day", "Later"]
    html = response.content.decode()
    assert html.count('class="meeting-day"') == 2
    assert 'data-tab="upcoming"' in html
    assert "3</span>" in html


def test_past_and_cancelled_tabs(host_client, page, soon):
    meeting(page, soon - timedelta(days=3), name="Long ago")
    meeting(page, soon - timedelta(days=2), name="Not so long ago")
    meeting(page, soon, name="Gone", status=BookingStatus.CANCELLED)
    assert _names(host_client.get(LIST, {"tab": "past"})) == ["Not so long ago", "Long ago"]
    assert _names(host_client.get(LIST, {"tab": "cancelled"})) == ["Gone"]


def _badges(response) -> dict[str, str]:
    html = response.content.decode()
    badges = {}
    for tab in ("upcoming", "past", "cancelled"):
        link = html.split(f'data-tab="{tab}">')[1].split("</a>")[0]
        badges[tab] = link.split('data-count="')[1].split('"')[0]
    return badges


def test_every_tab_shows_how_many_meetings_it_has_with_the_filters(host_client, page, soon):
    meeting(page, soon, name="Ann Soon")
    meeting(page, soon + timedelta(hours=1), name="Bob Soon")
    meeting(page, soon - timedelta(days=3), name="Ann Before")
    meeting(page, soon, name="Ann Gone", status=BookingStatus.CANCELLED)
    assert _badges(host_client.get(LIST)) == {"upcoming": "2", "past": "1", "cancelled": "1"}
    assert _badges(host_client.get(LIST, {"tab": "past", "q": "bob"})) == {
        "upcoming": "1",
        "past": "0",
        "cancelled": "0",
    }


def test_a_tab_not_shown_counts_up_to_a_cap_and_then_says_more(
    host_client, page, soon, monkeypatch
):
    monkeypatch.setattr("booking.meeting_views.OTHER_TAB_COUNT_CAP", 2)
    for days in (2, 3, 4):  # soon is tomorrow 10:00: a day before may not have passed yet
        meeting(page, soon - timedelta(days=days), name=f"Past {days}")
    for hours in (0, 1):
        meeting(page, soon + timedelta(hours=hours), name=f"Soon {hours}")
    badges = _badges(host_client.get(LIST))
    assert badges == {"upcoming": "2", "past": "2+", "cancelled": "0"}
    assert "more than 2 meetings" in host_client.get(LIST).content.decode()
    # The tab shown is counted exactly, past the cap.
    assert _badges(host_client.get(LIST, {"tab": "past"}))["past"] == "3"


def test_times_show_in_the_hosts_zone_and_the_invitees_when_it_differs(host_client, page, soon):
    meeting(page, soon, name="Kolkata", invitee_time_zone="Asia/Kolkata")
    meeting(page, soon + timedelta(hours=1), name="London", invitee_time_zone="Europe/London")
    html = host_client.get(LIST).content.decode()
    kolkata = soon.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Kolkata"))
    assert f"{kolkata:%H:%M} for them (India Time \u2014 Kolkata (UTC+5:30))" in html
    assert "Kolkata (UTC" not in html.split("London</a>")[1].split("</tr>")[0]


def test_zones_read_by_their_names_not_their_ids(host_client, page, soon):
    """As on the booking pages and in emails: a host reads "Central European Time",
    not "Europe/Berlin" (ids only mean something to programmers)."""
    booking = meeting(page, soon, name="Kolkata", invitee_time_zone="Asia/Kolkata")
    html = host_client.get(LIST).content.decode()
    assert "times in United Kingdom Time \u2014 London (UTC" in html
    assert "Europe/London" not in html
    assert "Asia/Kolkata" not in html
    detail = host_client.get(
        reverse("meetings:detail", args=[booking.pk]), HTTP_ACCEPT_LANGUAGE="de"
    ).content.decode()
    assert "Indien (Ortszeit) \u2014 Kolkata (UTC+5:30)" in detail
    assert "Europe/London" not in detail
    assert "Asia/Kolkata" not in detail
    pages = host_client.get(reverse("pages:list")).content.decode()
    assert "Europe/London" not in pages


def test_search_is_case_and_accent_insensitive_on_name_or_email(host_client, page, soon):
    meeting(page, soon, name="José Müller", email="jm@example.com")
    meeting(page, soon + timedelta(hours=1), name="Ann Other", email="ANN@Example.org")
    assert _names(host_client.get(LIST, {"q": "ann@example"})) == ["Ann Other"]
    assert _names(host_client.get(LIST, {"q": "JOSÉ"})) == ["José Müller"]


def test_search_ignores_accents_both_ways(host_client, page, soon):
    meeting(page, soon, name="José Müller", email="jm@example.com")
    meeting(page, soon + timedelta(hours=1), name="Jose Muller", email="j2@example.com")
    both = ["José Müller", "Jose Muller"]
    assert _names(host_client.get(LIST, {"q": "jose muller"})) == both
    assert _names(host_client.get(LIST, {"q": "JOSÉ MÜLLER"})) == both


def test_filters_by_page_and_date_range_in_the_hosts_zone(host_client, host, page, soon):
    from booking.services.pages import page_create

    other = page_create(host=host, fields={"title": "Demo", "slug": "alice-demo"})
    meeting(page, soon, name="Intro")
    meeting(other, soon + timedelta(hours=1), name="Demo one")
    meeting(other, soon + timedelta(days=2), name="Demo two")
    assert _names(host_client.get(LIST, {"booking_page": other.pk})) == ["Demo one", "Demo two"]
    day = soon.date().isoformat()
    assert _names(host_client.get(LIST, {"from": day, "to": day})) == ["Intro", "Demo one"]


def test_bad_filters_are_a_400_with_a_message(host, host_client, page, teammate):
    from booking.services.pages import page_create

    host.time_zone = "Pacific/Kiritimati"  # east of UTC: year 1's first midnight is year 0 in UTC
    host.save(update_fields=["time_zone"])

    bobs = page_create(host=teammate, fields={"title": "Bob's", "slug": "bobs"})
    for query in (
        {"from": "2026-13-01"},
        {"from": "2026-12-05", "to": "2026-12-01"},
        {"tab": "archive"},
        {"booking_page": bobs.pk},
        {"booking_page": "x"},
        {"q": "x" * 201},
        {"to": "9999-12-31"},
        {"from": "0001-01-01"},
    ):
        response = host_client.get(LIST, query)
        assert response.status_code == 400, query
        assert b"form-errors" in response.content or b"errorlist" in response.content
        export = host_client.get(reverse("meetings:export"), query)
        assert export.status_code == 400, query


def test_fifty_a_page_with_counts_and_links_that_keep_the_filters(host_client, page, soon):
    for index in range(120):
        meeting(page, soon + timedelta(minutes=30 * index), name=f"Invitee {index:03}")
    first = host_client.get(LIST, {"q": "invitee"})
    assert len(_names(first)) == 50
    html = first.content.decode()
    assert "1\u201350 of 120" in html
    assert "q=invitee&amp;tab=upcoming&amp;page=2" in html
    last = host_client.get(LIST, {"q": "invitee", "page": 3})
    assert _names(last) == [f"Invitee {index:03}" for index in range(100, 120)]
    assert host_client.get(LIST, {"page": "junk"}).status_code == 200


def test_each_row_says_where_its_calendar_event_stands(host, page, soon):
    connection = CalendarConnection.objects.create(
        host=host, provider="office365", account_id="a", account_email="alice@contoso.com"
    )
    calendar = Calendar.objects.create(connection=connection, remote_id="A", name="Calendar")
    states = {}
    for index, (state, synced, wanted) in enumerate(
        [
            (PushState.SYNCED, 1, True),
            (PushState.PENDING, 0, True),
            (PushState.FAILED, 0, True),
            (PushState.WAITING, 0, True),
        ]
    ):
        booking = meeting(page, soon + timedelta(hours=index))
        PushedEvent.objects.create(
            host=host,
            calendar=calendar,
            source=booking.mirror_source,
            payload={},
            state=state,
            synced_version=synced,
            wanted=wanted,
        )
        states[booking.pk] = state
    none = meeting(page, soon + timedelta(hours=9))
    bookings = list(
        meetings_filtered(user=host, filters=MeetingFilters(tab=Tab.UPCOMING), time_zone="UTC")
    )
    standings = calendar_standings(bookings=bookings)
    labels = {pk: standings[pk].label for pk in standings}
    by_state = {state: labels[pk] for pk, state in states.items()}
    assert by_state == {
        PushState.SYNCED: "in your calendar",
        PushState.PENDING: "on its way",
        PushState.FAILED: "failed",
        PushState.WAITING: "waiting for you to reconnect",
    }
    assert labels[none.pk] == "not in a calendar"
    connection.status = ConnectionStatus.DISCONNECTED
    connection.save()
    pending = next(pk for pk, state in states.items() if state == PushState.PENDING)
    again = calendar_standings(bookings=[b for b in bookings if b.pk == pending])
    assert again[pending].label == "waiting for you to reconnect"


def test_a_failed_row_offers_retry_from_the_list(host_client, host, page, soon):
    connection = CalendarConnection.objects.create(
        host=host, provider="office365", account_id="a", account_email="alice@contoso.com"
    )
    calendar = Calendar.objects.create(connection=connection, remote_id="A", name="Calendar")
    booking = meeting(page, soon)
    row = PushedEvent.objects.create(
        host=host,
        calendar=calendar,
        source=booking.mirror_source,
        payload={},
        state=PushState.FAILED,
        attempts=8,
    )
    html = host_client.get(LIST).content.decode()
    retry = reverse("meetings:retry", args=[booking.pk])
    assert retry in html
    response = host_client.post(retry, {"next": LIST + "?tab=upcoming"})
    assert response.status_code == 302
    assert response["Location"] == LIST + "?tab=upcoming"
    row.refresh_from_db()
    assert row.state == PushState.PENDING
    assert row.attempts == 0
    assert host_client.post(retry, {"next": "https://evil.example/"})["Location"] == reverse(
        "meetings:detail", args=[booking.pk]
    )


def test_empty_state_shows_the_page_link_and_how_to_test_it(host_client, page):
    html = host_client.get(LIST).content.decode()
    assert "No meetings yet" in html
    assert "/book/alice-intro/" in html
    assert "private window" in html


def test_meetings_is_the_first_entry_of_the_setup_sidebar(host_client):
    html = host_client.get(reverse("setup:home")).content.decode()
    sidebar = html.split('aria-label="Setup"')[1]
    assert sidebar.index(f'href="{LIST}"') < sidebar.index(f'href="{reverse("setup:home")}"')


def test_logging_in_lands_on_meetings_once_there_is_a_booking(client, host, page, soon):
    login = reverse("accounts:login")
    credentials = {"username": host.email, "password": "alice-password-1"}
    assert client.post(login, credentials, follow=True).redirect_chain[-1][0] == reverse(
        "setup:home"
    )
    client.logout()
    meeting(page, soon)
    assert client.post(login, credentials, follow=True).redirect_chain[-1][0] == LIST
