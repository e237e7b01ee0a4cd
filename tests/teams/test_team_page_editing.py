"""Any admin of the organization edits a team page's hours, questions and details (not
only the admin who made it); a member who is not an admin, or someone of another
organization, cannot."""

from __future__ import annotations

from datetime import time

import pytest
from django.urls import reverse

from accounts.models import Membership, Role
from booking.models import BookingPage, Question
from tests.support.booking import editor_data
from tests.teams.conftest import make_team_page

pytestmark = pytest.mark.django_db

NEW = editor_data(
    title="Team intro",
    slug="team-edit",
    hours=[(1, "07:00", "11:00")],
    questions=[{"label": "Your company?", "kind": "text", "required": "on"}],
)


@pytest.fixture
def team_page(org, host, teammate):
    _, carol = org
    return make_team_page(
        org=org, admin=host, kind="round_robin", users=[teammate, carol], slug="team-edit"
    )


def _make_admin(user):
    Membership.objects.filter(user=user).update(role=Role.ADMIN)


def _hours(page):
    return list(page.weekly_hours.values_list("weekday", "start", "end"))


def test_another_admin_edits_the_team_pages_hours_and_questions(client, teammate, team_page):
    _make_admin(teammate)
    client.force_login(teammate)
    url = reverse("pages:edit", args=[team_page.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert 'value="09:00"' in page.content.decode()
    answer = client.post(url, NEW)
    assert answer.status_code == 302, answer.content
    assert _hours(team_page) == [(1, time(7), time(11))]
    assert list(Question.objects.filter(page=team_page).values_list("label", flat=True)) == [
        "Your company?"
    ]
    team_page.refresh_from_db()
    assert team_page.title == "Team intro"
    assert team_page.host_id != teammate.pk  # still the page of the admin who made it
    # The Team overview offers every admin the way in.
    assert url in client.get(reverse("team:home")).content.decode()


def test_a_member_who_is_not_an_admin_cannot(client, org, team_page):
    _, carol = org
    client.force_login(carol)
    url = reverse("pages:edit", args=[team_page.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, NEW).status_code == 404
    assert _hours(team_page) == [(d, time(9), time(17)) for d in range(5)]
    assert not Question.objects.filter(page=team_page).exists()


def test_nor_the_maker_once_no_longer_an_admin(client, host, teammate, team_page):
    _make_admin(teammate)
    Membership.objects.filter(user=host).update(role=Role.MEMBER)
    client.force_login(host)
    url = reverse("pages:edit", args=[team_page.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, NEW).status_code == 404
    assert BookingPage.objects.get(pk=team_page.pk).title == "Team round_robin"


def test_nor_an_admin_of_another_organization(client, outsider, other_org, team_page):
    client.force_login(outsider)
    url = reverse("pages:edit", args=[team_page.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, NEW).status_code == 404


def test_personal_pages_stay_their_hosts_alone(client, host, teammate, org):
    from booking.services.pages import page_create

    personal = page_create(
        host=host, fields={"title": "Alice 1:1", "slug": "alice-1-1", "time_zone": "UTC"}
    )
    _make_admin(teammate)
    client.force_login(teammate)
    url = reverse("pages:edit", args=[personal.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, editor_data(slug="alice-1-1")).status_code == 404
    client.force_login(host)
    assert client.get(url).status_code == 200


def test_the_maker_while_admin_still_edits_it(client, host, team_page):
    client.force_login(host)
    answer = client.post(reverse("pages:edit", args=[team_page.pk]), NEW)
    assert answer.status_code == 302
    assert _hours(team_page) == [(1, time(7), time(11))]
