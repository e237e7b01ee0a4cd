"""Admins see their organization's bookings and events; members only their own."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.models import Membership, Role
from accounts.services import organization_create_for
from booking.services.bookings import Invitee, booking_create
from booking.services.pages import page_create
from integrations.models import EventType, WebhookDelivery, WebhookEndpoint
from integrations.tokens import token_create
from integrations.webhooks import endpoint_create
from tests.support.booking import at, workday

pytestmark = pytest.mark.django_db


@pytest.fixture
def contoso(host, teammate, outsider):
    """Alice admin of Contoso, Bob a member; Charlie admin of his own organization."""
    organization = organization_create_for(user=host, name="Contoso").organization
    Membership.objects.create(organization=organization, user=teammate, role=Role.MEMBER)
    organization_create_for(user=outsider, name="Fabrikam")
    return organization


def book(user, slug: str, hour: int = 16):
    page = page_create(host=user, fields={"title": f"{user.name}'s", "slug": slug})
    return booking_create(
        page=page,
        start=at(workday("Europe/London"), hour),
        invitee=Invitee(name="Dana", email="dana@example.com", time_zone="Europe/Paris"),
    )


def ids(client, user, path: str = "/api/v1/bookings") -> set[str]:
    _row, value = token_create(owner=user, name="t")
    response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {value}")
    assert response.status_code == 200
    return {str(row["id"]) for row in response.json()["data"]}


def test_an_admins_token_reads_the_organizations_bookings_a_members_only_their_own(
    client, contoso, host, teammate, outsider
):
    alices, bobs, charlies = book(host, "a"), book(teammate, "b"), book(outsider, "c")
    assert ids(client, host) == {str(alices.uuid), str(bobs.uuid)}
    assert ids(client, teammate) == {str(bobs.uuid)}
    assert ids(client, outsider) == {str(charlies.uuid)}
    assert ids(client, host, "/api/v1/booking-pages") == {str(alices.page_id), str(bobs.page_id)}


def test_scope_follows_the_role_on_the_next_request(client, contoso, host, teammate):
    bobs = book(teammate, "b")
    _row, value = token_create(owner=host, name="CRM")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {value}"}
    assert client.get(f"/api/v1/bookings/{bobs.uuid}", **headers).status_code == 200
    Membership.objects.filter(user=teammate).update(removed_at=timezone.now())
    assert client.get(f"/api/v1/bookings/{bobs.uuid}", **headers).status_code == 404


def test_an_organization_endpoint_gets_every_members_events(contoso, host, teammate, outsider):
    everyone, _ = endpoint_create(
        owner=host,
        url="http://127.0.0.1:9/all",
        events=[EventType.BOOKING_CREATED],
        organization=contoso,
    )
    alices_own, _ = endpoint_create(
        owner=host, url="http://127.0.0.1:9/mine", events=[EventType.BOOKING_CREATED]
    )
    bobs_own, _ = endpoint_create(
        owner=teammate, url="http://127.0.0.1:9/bob", events=[EventType.BOOKING_CREATED]
    )
    book(teammate, "b")
    book(outsider, "c")
    assert set(WebhookDelivery.objects.values_list("endpoint", flat=True)) == {
        everyone.pk,
        bobs_own.pk,
    }
    assert not WebhookDelivery.objects.filter(endpoint=alices_own).exists()


def test_an_organization_endpoint_stops_when_its_owner_is_no_longer_admin(contoso, host, teammate):
    endpoint_create(
        owner=host,
        url="http://127.0.0.1:9/all",
        events=[EventType.BOOKING_CREATED],
        organization=contoso,
    )
    Membership.objects.filter(user=host).update(role=Role.MEMBER)
    book(teammate, "b")
    assert not WebhookDelivery.objects.exists()


def test_only_admins_may_choose_the_organization_scope_in_setup(client, contoso, host, teammate):
    client.force_login(teammate)
    assert "Whose events" not in client.get("/setup/integration/webhooks/").content.decode()
    client.post(
        "/setup/integration/webhooks/",
        {"url": "http://127.0.0.1:9/x", "events": ["booking.created"], "scope": "organization"},
    )
    assert WebhookEndpoint.objects.get().organization is None  # ignored for a member

    client.force_login(host)
    assert "Whose events" in client.get("/setup/integration/webhooks/").content.decode()
    client.post(
        "/setup/integration/webhooks/",
        {"url": "http://127.0.0.1:9/y", "events": ["booking.created"], "scope": "organization"},
    )
    wide = WebhookEndpoint.objects.get(url="http://127.0.0.1:9/y")
    assert wide.organization == contoso


def test_members_cannot_open_the_organizations_endpoints_another_admin_can(
    client, contoso, host, teammate
):
    wide, _ = endpoint_create(
        owner=host,
        url="http://127.0.0.1:9/all",
        events=[EventType.BOOKING_CREATED],
        organization=contoso,
    )
    client.force_login(teammate)
    assert client.get(f"/setup/integration/webhooks/{wide.pk}/").status_code == 404
    Membership.objects.filter(user=teammate).update(role=Role.ADMIN)
    assert client.get(f"/setup/integration/webhooks/{wide.pk}/").status_code == 200


def test_team_events_reach_organization_endpoints(
    contoso, host, teammate, django_user_model, receiver, django_capture_on_commit_callbacks
):
    from accounts.models import Invitation
    from accounts.services import invitation_accept, member_remove
    from integrations.webhooks import delivery_deliver

    wide, secret = endpoint_create(
        owner=host,
        url=receiver.url,
        events=[EventType.TEAM_MEMBER_JOINED, EventType.TEAM_MEMBER_REMOVED],
        organization=contoso,
    )
    receiver.secrets.append(secret)
    endpoint_create(  # a personal endpoint never gets team events
        owner=host, url=receiver.url, events=[EventType.TEAM_MEMBER_REMOVED]
    )
    dave = django_user_model.objects.create_user("dave@example.com", "dave-password-1")
    invitation = Invitation.objects.create(
        organization=contoso, email="dave@example.com", role=Role.MEMBER, invited_by=host, nonce="n"
    )
    invitation_accept(invitation=invitation, user=dave)
    member_remove(membership=Membership.objects.get(user=teammate))

    rows = list(WebhookDelivery.objects.order_by("pk"))
    assert [(row.endpoint_id, row.event_type) for row in rows] == [
        (wide.pk, "team.member_joined"),
        (wide.pk, "team.member_removed"),
    ]
    for row in rows:
        delivery_deliver(delivery_id=row.pk)
    joined, removed = receiver.events()
    assert joined["data"]["member"]["email"] == "dave@example.com"
    assert removed["data"]["member"]["email"] == "bob@example.com"
    assert removed["data"]["organization"]["name"] == "Contoso"


def test_team_events_are_offered_only_for_the_whole_organization(client, contoso, host):
    client.force_login(host)
    response = client.post(
        "/setup/integration/webhooks/",
        {"url": "http://127.0.0.1:9/x", "events": ["team.member_joined"], "scope": "personal"},
    )
    assert "Team events go only to endpoints for everyone" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_an_admin_sees_and_may_revoke_members_tokens_a_member_not_the_admins(
    client, contoso, host, teammate
):
    from integrations.models import ApiToken

    bobs, _ = token_create(owner=teammate, name="Bob's script")
    alices, _ = token_create(owner=host, name="Alice's CRM")
    client.force_login(teammate)
    assert "Alice's CRM" not in client.get("/setup/profile/api-tokens/").content.decode()
    assert client.post(f"/setup/profile/api-tokens/{alices.pk}/revoke/").status_code == 404

    client.force_login(host)
    page = client.get("/setup/profile/api-tokens/").content.decode()
    assert "Bob&#x27;s script" in page
    assert "bob@example.com" in page
    client.post(f"/setup/profile/api-tokens/{bobs.pk}/revoke/")
    assert ApiToken.objects.get(pk=bobs.pk).revoked_at is not None
    assert ApiToken.objects.get(pk=alices.pk).revoked_at is None
