"""Organizations: sign-up makes one, admins invite, change roles and remove people."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import Invitation, InvitationState, Membership, Organization, Role, User
from accounts.services import (
    OrganizationError,
    invitation_create,
    member_remove,
    member_set_role,
)

pytestmark = pytest.mark.django_db


def _link(message) -> str:
    return re.search(r"https?://\S+/accounts/invitations/\S+/", message.body).group(0)


def _path(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def test_sign_up_makes_an_organization_with_the_new_user_as_its_admin(client):
    answer = client.post(
        reverse("accounts:signup"),
        {
            "name": "Nina New",
            "email": "nina@example.com",
            "time_zone": "Europe/Paris",
            "password1": "a-long-password-9",
            "password2": "a-long-password-9",
        },
    )
    assert answer.status_code == 302
    membership = Membership.objects.get(user__email="nina@example.com")
    assert membership.role == Role.ADMIN
    assert membership.organization.name == "Nina New's organization"
    # The admin sees Team in the sidebar.
    assert 'href="/setup/team/"' in client.get("/setup/").content.decode()


def test_an_invitation_creates_the_account_once_and_only_for_seven_days(
    client, org, host, django_capture_on_commit_callbacks
):
    organization, _ = org
    with django_capture_on_commit_callbacks(execute=True):
        invitation_create(
            organization=organization, email="Megan@Contoso.example", role="member", invited_by=host
        )
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["megan@contoso.example"]
    path = _path(_link(mail.outbox[0]))
    page = client.get(path)
    assert page.status_code == 200
    assert "Join Contoso" in page.content.decode()
    answer = client.post(
        path,
        {
            "name": "Megan Bowen",
            "time_zone": "Europe/London",
            "password1": "a-long-password-9",
            "password2": "a-long-password-9",
        },
    )
    assert answer.status_code == 302, answer.content
    megan = User.objects.get(email="megan@contoso.example")
    assert Membership.objects.get(user=megan).organization == organization
    assert Invitation.objects.get().state == InvitationState.ACCEPTED
    # Single use: the link now says so, and no second account or membership appears.
    client.logout()
    again = client.get(path)
    assert again.status_code == 400
    assert "already accepted" in again.content.decode()
    assert Membership.objects.filter(user=megan).count() == 1


def test_links_expire_after_seven_days_and_resending_replaces_the_link(
    client, org, host, django_capture_on_commit_callbacks
):
    from accounts.services import invitation_resend, invitation_revoke

    organization, _ = org
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invitation_create(
            organization=organization, email="ed@example.com", role="member", invited_by=host
        )
    first = _path(_link(mail.outbox[-1]))
    Invitation.objects.filter(pk=invitation.pk).update(
        sent_at=timezone.now() - timedelta(days=7, seconds=1)
    )
    assert "expired" in client.get(first).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        invitation_resend(invitation=Invitation.objects.get(pk=invitation.pk))
    second = _path(_link(mail.outbox[-1]))
    assert client.get(first).status_code == 400  # the old link no longer works
    assert client.get(second).status_code == 200
    invitation_revoke(invitation=Invitation.objects.get(pk=invitation.pk))
    assert "withdrawn" in client.get(second).content.decode()
    assert client.get("/accounts/invitations/not-a-token/").status_code == 400


def test_the_only_member_of_their_own_organization_joins_with_everything_they_have(
    client, org, host, outsider, other_org, django_capture_on_commit_callbacks
):
    """Charlie signed up on his own (so he is the only admin of Fabrikam, a one-person
    organization) before Contoso invited him: he joins, and his page, bookings, calendar
    connection, webhooks and API token come with him; the empty Fabrikam goes away."""
    from booking.models import BookingPage
    from booking.services.pages import page_create
    from calendars.models import CalendarConnection
    from integrations.models import ApiToken, WebhookEndpoint
    from integrations.tokens import token_create
    from tests.support.booking import at, book, workday
    from tests.teams.conftest import connect, make_team_page

    organization, _ = org
    connect(outsider, "charlie@fabrikam.example")
    page = page_create(host=outsider, fields={"title": "Charlie's", "slug": "charlie"})
    team_page = make_team_page(
        org=other_org, admin=outsider, kind="round_robin", users=[outsider], slug="fabrikam"
    )
    day = workday("Europe/London")
    assert book(client, "charlie", start=at(day, 10)).status_code == 201
    assert book(client, "fabrikam", start=at(day, 11)).status_code == 201
    endpoints = [
        WebhookEndpoint.objects.create(
            owner=outsider, organization=scope, url="https://hooks.example/x", secret_encrypted="-"
        )
        for scope in (None, other_org)
    ]
    token, _ = token_create(owner=outsider, name="CRM")
    with django_capture_on_commit_callbacks(execute=True):
        invitation_create(
            organization=organization, email=outsider.email, role="member", invited_by=host
        )
    path = _path(_link(mail.outbox[-1]))
    assert "Log in" in client.get(path).content.decode()
    client.force_login(outsider)
    assert "You are the only member of Fabrikam" in client.get(path).content.decode()
    assert client.post(path).status_code == 302

    assert Membership.objects.get(user=outsider).organization == organization
    assert not Organization.objects.filter(pk=other_org.pk).exists()
    page = BookingPage.objects.get(pk=page.pk)
    assert page.is_active
    assert page.bookings.count() == 1
    team_page = BookingPage.objects.get(pk=team_page.pk)  # Fabrikam's: now Contoso's
    assert (team_page.organization, team_page.bookings.count()) == (organization, 1)
    assert CalendarConnection.objects.get(host=outsider).is_connected
    # Fabrikam's endpoint received Charlie's events (he was all of Fabrikam): it now
    # receives his own, never all of Contoso's.
    assert [e.organization for e in WebhookEndpoint.objects.filter(owner=outsider)] == [None, None]
    assert {e.pk for e in WebhookEndpoint.objects.all()} == {e.pk for e in endpoints}
    assert ApiToken.objects.get(pk=token.pk).is_active
    assert client.get("/setup/booking-pages/").status_code == 200


@pytest.mark.parametrize("role", ["admin", "member"])
def test_someone_in_an_organization_with_other_members_cannot_join_another(
    client, org, host, teammate, outsider, other_org, django_capture_on_commit_callbacks, role
):
    """An account is in one organization only; leaving people behind is not the
    invitee's call: they are told what to do first."""
    organization, _ = org
    Membership.objects.filter(organization=organization, user=teammate).delete()
    Membership.objects.create(organization=other_org, user=teammate, role=role)
    if role == "member":
        # Charlie stays Fabrikam's admin; Bob is a member there.
        invitee = teammate
    else:
        invitee = outsider
    with django_capture_on_commit_callbacks(execute=True):
        invitation_create(
            organization=organization, email=invitee.email, role="member", invited_by=host
        )
    client.force_login(invitee)
    refused = client.post(_path(_link(mail.outbox[-1])))
    assert refused.status_code == 409
    text = refused.content.decode()
    assert "Fabrikam" in text
    assert "which has other members" in text
    assert ("Make someone else an admin" in text) == (invitee == outsider)
    assert Membership.objects.get(user=invitee, removed_at__isnull=True).organization == other_org
    assert Organization.objects.filter(pk=other_org.pk).exists()


def test_an_existing_login_in_no_organization_is_attached_after_logging_in(
    client, org, host, django_user_model, django_capture_on_commit_callbacks
):
    organization, _ = org
    loner = django_user_model.objects.create_user("lone@example.com", "lone-password-1")
    with django_capture_on_commit_callbacks(execute=True):
        invitation_create(
            organization=organization, email="lone@example.com", role="admin", invited_by=host
        )
    path = _path(_link(mail.outbox[-1]))
    client.force_login(host)  # someone else's session: refused, nothing happens
    assert client.post(path).status_code == 403
    client.force_login(loner)
    assert client.post(path).status_code == 302
    assert Membership.objects.get(user=loner).role == Role.ADMIN


def test_there_is_always_an_admin(org, host, teammate):
    admin = Membership.objects.get(user=host)
    with pytest.raises(OrganizationError):
        member_set_role(membership=admin, role=Role.MEMBER)
    with pytest.raises(OrganizationError):
        member_remove(membership=admin)
    member_set_role(membership=Membership.objects.get(user=teammate), role=Role.ADMIN)
    member_set_role(membership=admin, role=Role.MEMBER)
    assert Membership.objects.get(user=host).role == Role.MEMBER


def test_team_page_shows_members_connections_and_invitations(client, org, host, teammate):
    from tests.teams.conftest import connect

    connect(teammate, "bob@contoso.example")
    client.force_login(host)
    answer = client.post(reverse("team:invite"), {"email": "new@example.com", "role": "member"})
    assert answer.status_code == 302
    text = client.get(reverse("team:home")).content.decode()
    # An account address may wrap before its "@" (<wbr>), never inside a name.
    assert "bob<wbr>@contoso.example" in text
    assert "Not connected" in text  # Alice and Carol have none yet
    assert "new@example.com" in text
    # The same address twice is a clear 400, not a second invitation.
    again = client.post(reverse("team:invite"), {"email": "NEW@example.com", "role": "member"})
    assert again.status_code == 400
    assert Invitation.objects.count() == 1


def test_team_page_form_makes_a_round_robin_page(client, org, host, teammate):
    _, carol = org
    client.force_login(host)
    answer = client.post(
        reverse("team:page_create"),
        {
            "title": "Sales",
            "slug": "sales",
            "kind": "round_robin",
            "duration_minutes": 30,
            f"member_{teammate.pk}": "on",
            f"priority_{teammate.pk}": 2,
            f"weight_{teammate.pk}": 1,
            f"member_{carol.pk}": "on",
            f"priority_{carol.pk}": 0,
            f"weight_{carol.pk}": 3,
            f"priority_{host.pk}": 0,
            f"weight_{host.pk}": 1,
        },
    )
    assert answer.status_code == 302, answer.content
    from booking.models import BookingPage

    page = BookingPage.objects.get(slug="sales")
    assert page.team_kind == "round_robin"
    assert page.organization == Organization.objects.get(memberships__user=host)
    seats = {s.user_id: (s.priority, s.weight) for s in page.team_members.all()}
    assert seats == {teammate.pk: (2, 1), carol.pk: (0, 3)}
    # Nobody ticked: a clear 400.
    empty = client.post(
        reverse("team:page_create"),
        {"title": "None", "slug": "none", "kind": "collective", "duration_minutes": 30},
    )
    assert empty.status_code == 400
