"""Setup → Team's actions as an admin meets them: each answers with what happened, the
service's refusals are shown as they are, and a team page form that cannot be saved
comes back as a 400 with the reason on it."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.models import Invitation, InvitationState, Membership, Role
from accounts.services import invitation_create
from booking.models import BookingPage
from tests.teams.conftest import make_team_page

pytestmark = pytest.mark.django_db


def _said(answer) -> list[str]:
    """The messages an action left for the next page; reading them uses them up."""
    return [str(message) for message in get_messages(answer.wsgi_request)]


def _rows(*users, ticked=()) -> dict[str, object]:
    """The member rows of a team page form: every member's priority and weight, some ticked."""
    data: dict[str, object] = {}
    for user in users:
        data.update({f"priority_{user.pk}": 0, f"weight_{user.pk}": 1})
        if user in ticked:
            data[f"member_{user.pk}"] = "on"
    return data


def _post(client, url: str, data=None):
    """POST, then open the page it leads to (which shows and so clears the messages)."""
    return client.post(url, data or {}, follow=True)


def test_resend_and_withdraw_say_what_happened_and_a_second_withdraw_is_refused(client, org, host):
    organization, _ = org
    invitation = invitation_create(
        organization=organization, email="dora@example.com", role="member", invited_by=host
    )
    client.force_login(host)
    resent = _post(client, reverse("team:resend", args=[invitation.pk]))
    assert resent.redirect_chain == [(reverse("team:home"), 302)]
    assert _said(resent) == [
        "A new link was sent to dora@example.com; the old one no longer works."
    ]

    withdrawn = _post(client, reverse("team:revoke", args=[invitation.pk]))
    assert _said(withdrawn) == ["The invitation of dora@example.com was withdrawn."]
    assert Invitation.objects.get(pk=invitation.pk).state == InvitationState.REVOKED

    again = _post(client, reverse("team:revoke", args=[invitation.pk]))
    assert _said(again) == ["Only a pending invitation can be withdrawn."]
    assert _said(_post(client, reverse("team:resend", args=[invitation.pk]))) == [
        "Only a pending invitation can be resent."
    ]


def test_role_changes_name_the_role_and_the_last_admin_cannot_step_down(
    client, org, host, teammate
):
    client.force_login(host)
    alice = Membership.objects.get(user=host)
    refused = _post(client, reverse("team:role", args=[alice.pk]), {"role": "member"})
    assert _said(refused) == [
        "An organization needs at least one admin. Make someone else an admin first."
    ]
    assert Membership.objects.get(pk=alice.pk).role == Role.ADMIN

    bob = Membership.objects.get(user=teammate)
    made = _post(client, reverse("team:role", args=[bob.pk]), {"role": "admin"})
    assert _said(made) == [f"{teammate.get_full_name()} is now {Role.ADMIN.label}."]
    assert Membership.objects.get(pk=bob.pk).role == Role.ADMIN

    junk = _post(client, reverse("team:role", args=[bob.pk]), {"role": "owner"})
    assert _said(junk) == ["Choose a role."]
    assert Membership.objects.get(pk=bob.pk).role == Role.ADMIN


def test_removing_a_member_asks_first_then_says_so_and_twice_is_a_404(client, org, host):
    _, carol = org
    client.force_login(host)
    membership = Membership.objects.get(user=carol)
    url = reverse("team:remove", args=[membership.pk])
    assert client.get(url).status_code == 200
    removed = _post(client, url)
    assert _said(removed)[0].startswith(f"{carol.get_full_name()} was removed.")
    assert Membership.objects.get(pk=membership.pk).removed_at is not None
    assert client.post(url).status_code == 404  # no longer a current member


def test_a_taken_link_lands_on_the_slug_field_of_the_new_team_page_form(
    client, org, host, teammate
):
    make_team_page(org=org, admin=host, kind="collective", users=[teammate], slug="sales")
    client.force_login(host)
    answer = client.post(
        reverse("team:page_create"),
        {
            "title": "Sales again",
            "slug": "sales",
            "kind": "round_robin",
            "duration_minutes": 30,
            **_rows(host, teammate, org[1], ticked=[teammate]),
        },
    )
    assert answer.status_code == 400
    assert "slug" in answer.context["form"].errors
    assert BookingPage.objects.filter(slug="sales").count() == 1


def test_a_team_page_without_a_link_gets_one_from_its_title_as_a_hosts_page_does(
    client, org, host, teammate
):
    # The host's own page makes its link from the title; the team page refused an empty
    # one with "This field is required", a surprise on the second page a new admin makes.
    make_team_page(org=org, admin=host, kind="collective", users=[teammate], slug="vertrieb")
    client.force_login(host)
    answer = client.post(
        reverse("team:page_create"),
        {
            "title": "Vertrieb",
            "slug": "",
            "kind": "round_robin",
            "duration_minutes": 30,
            **_rows(host, teammate, org[1], ticked=[teammate]),
        },
    )
    assert answer.status_code == 302
    assert BookingPage.objects.filter(slug="vertrieb-2", title="Vertrieb").exists()


def test_the_members_form_refuses_an_empty_team_with_a_400_and_keeps_the_seats(
    client, org, host, teammate
):
    page = make_team_page(org=org, admin=host, kind="collective", users=[teammate], slug="duo")
    client.force_login(host)
    url = reverse("team:page_members", args=[page.pk])
    assert client.get(url).status_code == 200
    answer = client.post(url, {"hours_source": "page", **_rows(host, teammate, org[1])})
    assert answer.status_code == 400
    assert "Choose at least one member." in answer.content.decode()
    assert [seat.user_id for seat in page.team_members.all()] == [teammate.pk]

    saved = _post(
        client,
        url,
        {
            "hours_source": "page",
            **_rows(host, teammate, org[1], ticked=[host]),
        },
    )
    assert saved.redirect_chain == [(reverse("team:home"), 302)]
    assert _said(saved) == [f"The members of “{page.title}” were saved."]
    assert [seat.user_id for seat in page.team_members.all()] == [host.pk]


@pytest.mark.parametrize("action", ["step down", "leave"])
def test_an_admin_who_steps_down_or_leaves_lands_on_setup_not_a_403(
    client, org, host, teammate, action
):
    """Bob is an admin too, so Alice may make herself a member, or remove herself. Team is
    then not hers to open: she is sent to Setup's home with what happened, rather than
    to Team's "Only the organization's admins can open Team" (403)."""
    Membership.objects.filter(user=teammate).update(role=Role.ADMIN)
    client.force_login(host)
    alice = Membership.objects.get(user=host)
    if action == "step down":
        answer = _post(client, reverse("team:role", args=[alice.pk]), {"role": "member"})
        assert Membership.objects.get(pk=alice.pk).role == Role.MEMBER
    else:
        answer = _post(client, reverse("team:remove", args=[alice.pk]))
        assert Membership.objects.get(pk=alice.pk).removed_at is not None
    assert answer.status_code == 200
    assert answer.redirect_chain[-1][0] == reverse("setup:home")
    assert _said(answer)[0].startswith(host.get_full_name())
