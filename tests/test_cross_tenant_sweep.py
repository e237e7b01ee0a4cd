"""Every Setup and API address that names a thing by its id, tried with someone else's.

Two organizations: Contoso (Alice admin, Bob member) and Fabrikam (Charlie admin, Dave
member). Alice owns one of each thing an id can name. Charlie (another organization's
admin), Dave (its member) and Bob (Alice's own member, who is not an admin) send
every such address a read and a form with Alice's ids: each is refused (403/404, or 405
for a method the address does not take) and nothing stored changes.

The addresses come from the URL configuration itself, so a new route that takes an id
fails ``test_every_route_with_an_id_is_swept`` until it is added to ``ROUTES``.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import Invitation, Membership, Organization, Role, User
from accounts.services import invitation_create, organization_create_for
from booking.models import Booking, BookingPage
from booking.services.bookings import Invitee, booking_create
from booking.services.pages import page_create
from booking.services.teams import Seat, team_page_create
from calendars.models import Calendar, CalendarConnection, PushedEvent
from integrations.models import ApiToken, EventType, WebhookDelivery, WebhookEndpoint
from integrations.tokens import token_create
from integrations.webhooks import endpoint_create
from tests.support.booking import at, workday

pytestmark = pytest.mark.django_db

# Route name → the kind of thing its ``pk`` names (a key of ``alices_ids``).
ROUTES = {
    "pages:edit": "page",
    "pages:calendars": "page",
    "pages:duplicate": "page",
    "pages:toggle": "page",
    "pages:delete": "page",
    "team:resend": "invitation",
    "team:revoke": "invitation",
    "team:role": "membership",
    "team:remove": "membership",
    "team:page_members": "team_page",
    "meetings:detail": "booking",
    "meetings:cancel": "booking",
    "meetings:ask": "booking",
    "meetings:no_show": "booking",
    "meetings:retry": "booking",
    "calendars:reminder": "connection",
    "calendars:refresh": "connection",
    "calendars:disconnect": "connection",
    "calendars:push_retry": "push",
    "integrations:webhook": "endpoint",
    "integrations:webhook-rotate": "endpoint",
    "integrations:webhook-test": "endpoint",
    "integrations:webhook-delete": "endpoint",
    "integrations:delivery-resend": "delivery",
    "integrations:token-revoke": "token",
}
# Team admin routes a plain member of the same organization must not use on anyone.
ADMIN_ONLY = {"team:resend", "team:revoke", "team:role", "team:remove", "team:page_members"}
# The models whose rows must come through every refused request unchanged.
WATCHED = (
    User,
    Organization,
    Membership,
    Invitation,
    BookingPage,
    Booking,
    CalendarConnection,
    Calendar,
    PushedEvent,
    WebhookEndpoint,
    WebhookDelivery,
    ApiToken,
)


def _routes_with_an_id(resolver: URLResolver, namespace: str = "") -> set[str]:
    names = set()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(part for part in (namespace, entry.namespace) if part)
            names |= _routes_with_an_id(entry, inner)
        elif isinstance(entry, URLPattern) and "pk" in entry.pattern.converters:
            names.add(f"{namespace}:{entry.name}" if namespace else entry.name)
    return names


def test_every_route_with_an_id_is_swept():
    found = {name for name in _routes_with_an_id(get_resolver()) if "admin" not in name}
    assert found == set(ROUTES)


@pytest.fixture
def cast(host, teammate, outsider, django_user_model):
    contoso = organization_create_for(user=host, name="Contoso").organization
    Membership.objects.create(organization=contoso, user=teammate, role=Role.MEMBER)
    fabrikam = organization_create_for(user=outsider, name="Fabrikam").organization
    dave = django_user_model.objects.create_user("dave@example.com", "dave-password-1", name="Dave")
    Membership.objects.create(organization=fabrikam, user=dave, role=Role.MEMBER)
    return {"bob": teammate, "charlie": outsider, "dave": dave}


@pytest.fixture
def alices_ids(cast, host, teammate):
    contoso = Organization.objects.get(name="Contoso")
    connection = CalendarConnection.objects.create(
        host=host, provider="office365", account_id="uid.tid", account_email="alice@contoso.com"
    )
    calendar = Calendar.objects.create(
        connection=connection, remote_id="A", name="Calendar", is_default=True
    )
    endpoint, _secret = endpoint_create(
        owner=host, url="http://127.0.0.1:9/hook", events=[EventType.BOOKING_CREATED]
    )
    page = page_create(host=host, fields={"title": "Intro call", "slug": "intro"})
    booking = booking_create(
        page=page,
        start=at(workday("Europe/London"), 10),
        invitee=Invitee(name="Erin", email="erin@example.com", time_zone="Europe/London"),
    )
    push = PushedEvent.objects.get(calendar=calendar, source=f"booking:{booking.uuid}")
    team_page = team_page_create(
        admin=host,
        organization=contoso,
        kind="round_robin",
        fields={"title": "Sales", "slug": "sales", "time_zone": "Europe/London"},
        seats=[Seat(user_id=host.pk)],
    )
    token, _value = token_create(owner=host, name="CRM")
    invitation = invitation_create(
        organization=contoso, email="frank@example.com", role=Role.MEMBER, invited_by=host
    )
    return {
        "page": page.pk,
        "team_page": team_page.pk,
        "booking": booking.pk,
        "connection": connection.pk,
        "push": push.pk,
        "endpoint": endpoint.pk,
        "delivery": WebhookDelivery.objects.get(endpoint=endpoint).pk,
        "token": token.pk,
        "invitation": invitation.pk,
        # Bob's own membership: a member promoting himself, or removing himself as admin.
        "membership": Membership.objects.get(user=teammate).pk,
        "alices_membership": Membership.objects.get(user=host).pk,
    }


def _stored() -> dict:
    return {
        model.__name__: sorted(map(repr, model.objects.order_by("pk").values()))
        for model in WATCHED
    }


# A form with everything a form here might read, so a check that forgot the owner has
# every chance to act.
FORM = {
    "role": Role.ADMIN,
    "title": "Taken over",
    "slug": "taken-over",
    "reminder": "15",
    "url": "http://127.0.0.1:9/evil",
    "events": [EventType.BOOKING_CREATED],
    "reason": "x",
    "members": ["1"],
    "no_show": "1",
}


@pytest.mark.parametrize("attacker", ["charlie", "dave", "bob"])
def test_someone_elses_ids_are_refused_and_nothing_changes(client, cast, alices_ids, attacker):
    client.force_login(cast[attacker])
    before = _stored()
    answers = {}
    for name, kind in ROUTES.items():
        if attacker == "bob" and kind == "membership" and name not in ADMIN_ONLY:
            continue
        pks = [alices_ids[kind]]
        if kind == "membership":
            pks.append(alices_ids["alices_membership"])
        for pk in pks:
            path = reverse(name, args=[pk])
            for method in ("get", "post"):
                response = getattr(client, method)(path, FORM if method == "post" else None)
                answers[f"{method.upper()} {path} ({name})"] = response.status_code
    allowed = {403, 404, 405}
    assert {k: v for k, v in answers.items() if v not in allowed} == {}
    assert _stored() == before


@pytest.mark.parametrize("attacker", ["charlie", "dave", "bob"])
def test_someone_elses_booking_is_not_in_their_api_answers(client, cast, alices_ids, attacker):
    booking = Booking.objects.get(pk=alices_ids["booking"])
    _row, value = token_create(owner=cast[attacker], name="mine")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {value}"}
    assert client.get(f"/api/v1/bookings/{booking.uuid}", **headers).status_code == 404
    listed = client.get("/api/v1/bookings", **headers).json()["data"]
    assert str(booking.uuid) not in {row["id"] for row in listed}
    pages = client.get("/api/v1/booking-pages", **headers).json()["data"]
    assert booking.page_id not in {row["id"] for row in pages}


def test_an_invitation_link_works_only_for_its_address_and_only_once(client, cast, alices_ids):
    """Dave (in Fabrikam) holds the link of Frank's invitation to Contoso: he cannot use
    it, logged in or by making an account; Frank can, once."""
    from accounts.services import invitation_token

    invitation = Invitation.objects.get(pk=alices_ids["invitation"])
    link = reverse("accounts:invitation", args=[invitation_token(invitation)])
    client.force_login(cast["dave"])
    assert client.post(link).status_code == 403
    client.logout()
    taken = client.post(
        link,
        {
            "name": "Dave again",
            "email": "dave@example.com",
            "time_zone": "UTC",
            "password1": "a-long-pass-phrase-1",
            "password2": "a-long-pass-phrase-1",
        },
    )
    assert taken.status_code == 302  # the account made is Frank's address, not Dave's
    frank = User.objects.get(email="frank@example.com")
    assert not User.objects.filter(name="Dave again").exclude(pk=frank.pk).exists()
    assert Membership.objects.get(user=frank).organization.name == "Contoso"
    assert Membership.objects.get(user=cast["dave"]).organization.name == "Fabrikam"
    client.logout()
    again = client.get(link)
    assert again.status_code == 400
    assert "already accepted" in again.content.decode()


def test_a_member_cannot_make_an_organization_wide_endpoint_by_sending_the_scope(
    client, cast, alices_ids
):
    """The choice is offered to admins only; a member who sends it anyway gets an
    endpoint for their own bookings, never everyone's."""
    client.force_login(cast["bob"])
    client.post(
        reverse("integrations:webhooks"),
        {
            "url": "http://127.0.0.1:9/bob",
            "events": [EventType.BOOKING_CREATED],
            "scope": "organization",
            "organization": str(Organization.objects.get(name="Contoso").pk),
        },
    )
    [made] = WebhookEndpoint.objects.filter(owner=cast["bob"])
    assert made.organization_id is None
