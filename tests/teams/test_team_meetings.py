"""Setup → Meetings for an organization's admin: the members' meetings can be looked at
(a Host filter, their detail pages, the export), but stay theirs to change; nobody else
sees them, and a member who leaves takes their meetings out of the admin's view."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse

from accounts.models import Membership, Role
from accounts.services import member_remove, member_set_role
from booking.models import BookingStatus
from booking.services.pages import page_create
from tests.support.meetings import meeting, tomorrow_ten

pytestmark = pytest.mark.django_db
LIST = reverse("meetings:list")


@pytest.fixture
def meetings(org, host, teammate):
    """Alice's (the admin's) meeting and Bob's (a member's): (alices, bobs)."""
    alices_page = page_create(host=host, fields={"title": "Alice intro", "slug": "alice-intro"})
    bobs_page = page_create(host=teammate, fields={"title": "Bob demo", "slug": "bob-demo"})
    soon = tomorrow_ten()
    alices = meeting(alices_page, soon, name="Ann Alicesguest", email="ann@example.com")
    bobs = meeting(bobs_page, soon + timedelta(hours=1), name="Ben Bobsguest", email="ben@x.org")
    return alices, bobs


def _names(response) -> list[str]:
    html = response.content.decode()
    return [part.split("</a>")[0] for part in html.split('class="invitee-name">')[1:]]


def test_an_admin_sees_their_own_first_and_everyone_or_one_member_on_asking(
    client, host, teammate, meetings
):
    client.force_login(host)
    mine = client.get(LIST)
    assert _names(mine) == ["Ann Alicesguest"]
    html = mine.content.decode()
    assert 'name="host"' in html
    assert f'<option value="{teammate.pk}">Bob Teammate</option>' in html

    everyone = client.get(LIST, {"host": "all"})
    assert _names(everyone) == ["Ann Alicesguest", "Ben Bobsguest"]
    assert f'data-host="{teammate.pk}">with Bob Teammate' in everyone.content.decode()
    assert _names(client.get(LIST, {"host": teammate.pk})) == ["Ben Bobsguest"]
    # The tabs' links and the export keep the choice.
    assert "host=all" in everyone.context["export_url"]
    export = client.get(reverse("meetings:export"), {"host": "all"})
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    assert sorted(row[3] for row in rows[1:]) == ["Ann Alicesguest", "Ben Bobsguest"]


def test_an_admin_opens_a_members_meeting_but_cannot_change_it(client, host, meetings):
    _, bobs = meetings
    client.force_login(host)
    detail = client.get(reverse("meetings:detail", args=[bobs.pk]))
    assert detail.status_code == 200
    html = detail.content.decode()
    assert "Bob Teammate hosts this meeting: only they can change it." in html
    assert reverse("meetings:cancel", args=[bobs.pk]) not in html
    assert reverse("meetings:ask", args=[bobs.pk]) not in html
    for name in ("cancel", "ask"):
        assert client.get(reverse(f"meetings:{name}", args=[bobs.pk])).status_code == 403
    for name in ("cancel", "ask", "no_show", "retry"):
        refused = client.post(reverse(f"meetings:{name}", args=[bobs.pk]))
        assert refused.status_code == 403
        assert "Only the meeting&#x27;s host can change it." in refused.content.decode()
    bobs.refresh_from_db()
    assert bobs.status == BookingStatus.CONFIRMED
    assert bobs.no_show_at is None


def test_a_member_sees_only_their_own_and_gets_404_for_the_admins(client, teammate, meetings):
    alices, bobs = meetings
    client.force_login(teammate)
    response = client.get(LIST, {"host": "all"})  # not theirs to ask: their own, as always
    assert _names(response) == ["Ben Bobsguest"]
    assert 'name="host"' not in response.content.decode()
    assert client.get(reverse("meetings:detail", args=[alices.pk])).status_code == 404
    assert client.get(reverse("meetings:detail", args=[bobs.pk])).status_code == 200


def test_another_organizations_admin_gets_404_and_a_400_for_a_host_not_theirs(
    client, outsider, other_org, teammate, meetings
):
    _, bobs = meetings
    client.force_login(outsider)
    assert client.get(reverse("meetings:detail", args=[bobs.pk])).status_code == 404
    assert client.post(reverse("meetings:cancel", args=[bobs.pk])).status_code == 404
    assert "Ben Bobsguest" not in client.get(LIST, {"host": "all"}).content.decode()


def test_a_host_filter_naming_someone_else_is_a_400(client, host, outsider, meetings):
    client.force_login(host)
    for value in (outsider.pk, "x", 10**20):
        assert client.get(LIST, {"host": value}).status_code == 400, value
        assert client.get(reverse("meetings:export"), {"host": value}).status_code == 400


def test_a_removed_member_or_a_demoted_admin_loses_the_view(client, host, teammate, org, meetings):
    alices, bobs = meetings
    _, carol = org
    url = reverse("meetings:detail", args=[bobs.pk])
    client.force_login(host)
    assert client.get(url).status_code == 200
    member_remove(membership=Membership.objects.get(user=teammate))
    assert client.get(url).status_code == 404
    assert _names(client.get(LIST, {"host": "all"})) == ["Ann Alicesguest"]

    # Carol becomes the admin and Alice a member: Alice keeps only her own.
    carols = meeting(alices.page, alices.start + timedelta(hours=3), name="Cy Carolsguest")
    carols.host = carol
    carols.save()
    member_set_role(membership=Membership.objects.get(user=carol), role=Role.ADMIN)
    member_set_role(membership=Membership.objects.get(user=host), role=Role.MEMBER)
    assert client.get(reverse("meetings:detail", args=[carols.pk])).status_code == 404
    client.force_login(carol)
    assert client.get(reverse("meetings:detail", args=[alices.pk])).status_code == 200


def test_the_export_has_the_members_questions_only_when_showing_their_meetings(
    client, host, meetings
):
    from booking.models import Question

    _, bobs = meetings
    Question.objects.create(page=bobs.page, label="Budget", position=0)
    bobs.answers = [{"question": "Budget", "answer": "10k"}]
    bobs.save()
    client.force_login(host)

    def export(**query) -> list[list[str]]:
        answer = client.get(reverse("meetings:export"), query)
        text = b"".join(answer.streaming_content).decode("utf-8-sig")
        return list(csv.reader(io.StringIO(text)))

    mine = export()
    assert "Budget" not in mine[0]
    everyone = export(host="all")
    column = everyone[0].index("Budget")
    assert [row[column] for row in everyone[1:]] == ["", "10k"]


def test_the_booking_page_filter_offers_the_members_pages_only_with_their_meetings(
    client, host, teammate, meetings
):
    _, bobs = meetings
    client.force_login(host)
    mine = client.get(LIST).content.decode()
    assert f'<option value="{bobs.page_id}">Bob demo</option>' not in mine
    assert client.get(LIST, {"booking_page": bobs.page_id}).status_code == 400
    everyone = client.get(LIST, {"host": "all", "booking_page": bobs.page_id})
    assert everyone.status_code == 200
    assert _names(everyone) == ["Ben Bobsguest"]


def test_a_member_filters_their_meetings_by_a_team_page_they_are_on(client, org, host, teammate):
    """Bob's round-robin meeting is in his list, so its team page (which Alice made) is one
    of the pages he can filter by; it was missing, and asking for it answered 400."""
    from tests.teams.conftest import make_team_page

    _, carol = org
    page = make_team_page(
        org=org, admin=host, kind="round_robin", users=[teammate, carol], slug="team-rr"
    )
    meeting(page, tomorrow_ten(), name="Rita Roundrobin", host=teammate)
    client.force_login(teammate)
    mine = client.get(LIST).content.decode()
    assert f'<option value="{page.pk}">{page.title}</option>' in mine
    filtered = client.get(LIST, {"booking_page": page.pk})
    assert filtered.status_code == 200
    assert _names(filtered) == ["Rita Roundrobin"]
