"""A team page with a Microsoft Teams location, some of whose members' calendars cannot
make Teams meetings (a personal Microsoft account's): Setup names them where the admin
picks the location and the members; a booking such a member hosts says the link
follows, as on a personal page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from booking.models import Booking, BookingPage, LocationKind
from booking.services.bookings import Invitee, booking_create
from calendars.models import Calendar
from tests.support.booking import at, workday
from tests.teams.conftest import make_team_page

pytestmark = pytest.mark.django_db

WARNING = 'data-testid="teams-unavailable-members"'


@pytest.fixture
def carol_without_teams(org, team_calendars):
    _, carol = org
    Calendar.objects.filter(pk=team_calendars[carol.pk].pk).update(online_meetings=False)
    return carol


def _team_page(org, host, users, *, kind="round_robin", slug="team-teams"):
    page = make_team_page(org=org, admin=host, kind=kind, users=users, slug=slug)
    BookingPage.objects.filter(pk=page.pk).update(location_kind=LocationKind.TEAMS)
    page.refresh_from_db()
    return page


@pytest.mark.parametrize("kind", ["round_robin", "collective"])
def test_the_team_page_editor_names_the_members_whose_calendars_cannot_make_teams_meetings(
    client, org, host, teammate, carol_without_teams, kind
):
    page = _team_page(org, host, [teammate, carol_without_teams], kind=kind)
    client.force_login(host)
    html = client.get(reverse("pages:edit", args=[page.pk])).content.decode()
    assert WARNING in html
    warning = html[html.index(WARNING) : html.index("</p>", html.index(WARNING))]
    assert "Carol Member" in warning
    assert "Bob Teammate" not in warning
    assert 'data-testid="teams-unavailable"' not in html  # the personal page's wording

    members = client.get(reverse("team:page_members", args=[page.pk])).content.decode()
    row = members[members.index("carol@example.com") - 400 : members.index("carol@example.com")]
    assert 'data-testid="no-teams"' in members
    assert members.count('data-testid="no-teams"') == 1
    assert "Carol Member" in row


def test_no_warning_when_every_member_can_or_the_location_is_not_teams(
    client, org, host, teammate, carol_without_teams
):
    client.force_login(host)
    able = _team_page(org, host, [teammate], slug="bob-only")
    assert WARNING not in client.get(reverse("pages:edit", args=[able.pk])).content.decode()
    phone = _team_page(org, host, [teammate, carol_without_teams], slug="by-phone")
    BookingPage.objects.filter(pk=phone.pk).update(location_kind=LocationKind.PHONE)
    html = client.get(reverse("pages:edit", args=[phone.pk])).content.decode()
    assert WARNING not in html
    members = client.get(reverse("team:page_members", args=[phone.pk])).content.decode()
    assert 'data-testid="no-teams"' not in members


def test_a_booking_hosted_by_such_a_member_says_the_link_follows(
    org, host, teammate, carol_without_teams
):
    invitee = Invitee(name="Dana", email="dana@example.com", time_zone="Europe/London")
    start = at(workday("Europe/London"), 10)
    for users, slug, expected in (
        ([carol_without_teams], "carol-only", True),
        ([teammate], "bob-only", False),
    ):
        page = _team_page(org, host, users, slug=slug)
        booking = booking_create(page=page, start=start, invitee=invitee)
        assert Booking.objects.get(pk=booking.pk).no_join_link is expected
    carols = Booking.objects.get(page__slug="carol-only")
    assert carols.location_text == "Online meeting (link to follow)"
