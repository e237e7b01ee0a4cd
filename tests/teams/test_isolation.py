"""Every Setup URL, tried by the wrong people: another organization's admin and a member
who is not an admin. Nobody sees or changes what is not theirs.

The URLs are read from the URL configuration, so a Setup page added later is tried too;
an id in a URL is filled with an id of Alice's (her page, her account, her member row…).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from accounts.models import Invitation, InvitationState, Membership, Role
from booking.models import Booking, BookingPage, BookingStatus
from calendars.models import CalendarConnection, ConnectionStatus, PushedEvent
from integrations.models import ApiToken, WebhookDelivery, WebhookEndpoint
from tests.teams.conftest import make_team_page

pytestmark = pytest.mark.django_db

# Which of Alice's objects an id stands for, by the words before it in the path.
ID_SOURCES = (
    ("webhooks/deliveries/", "delivery"),
    ("webhooks/", "webhook"),
    ("api-tokens/", "token"),
    ("meetings/", "booking"),
    ("team/invitations/", "invitation"),
    ("team/members/", "membership"),
    ("team/pages/", "team_page"),
    ("booking-pages/", "page"),
    ("pushes/", "pushed"),
    ("integration/calendar/", "connection"),
)
# Starts the visitor's own Microsoft sign-in (a network call to the identity platform):
# it names nobody else's data, and its own tests cover it.
OWN_SIGN_IN = ("setup/integration/calendar/office365/connect/",)
SECRET_WORDS = (
    "alice@contoso.example",
    "Alice's secret page",
    "alice-secret",
    "dana@example.com",  # the invitee of Alice's meeting
    "hooks.alice.example",
    "Alice's token",
)


def setup_paths() -> list[str]:
    found: list[str] = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif (
                isinstance(pattern, URLPattern)
                and route.startswith("setup/")
                and route not in OWN_SIGN_IN
            ):
                found.append(route)

    walk(get_resolver().url_patterns, "")
    return found


def _fill(route: str, ids: dict[str, int]) -> str:
    if "<" not in route:
        return "/" + route
    key = next((name for words, name in ID_SOURCES if words in route), "booking")
    head, _, rest = route.partition("<")
    _, _, tail = rest.partition(">")
    return "/" + head + str(ids[key]) + tail


@pytest.fixture
def alices_org(org, host, teammate, django_capture_on_commit_callbacks):
    from accounts.services import invitation_create
    from booking.services.bookings import Invitee, booking_create
    from booking.services.pages import page_create
    from tests.support.booking import at, workday
    from tests.teams.conftest import connect

    organization, carol = org
    calendar = connect(host, "alice@contoso.example")
    page = page_create(host=host, fields={"title": "Alice's secret page", "slug": "alice-secret"})
    booking = booking_create(
        page=page,
        start=at(workday("Europe/London"), 10),
        invitee=Invitee(name="Dana", email="dana@example.com", time_zone="Europe/Paris"),
    )
    pushed = PushedEvent.objects.get(calendar=calendar)
    webhook = WebhookEndpoint.objects.create(
        owner=host,
        organization=organization,
        url="https://hooks.alice.example/in",
        events=["booking.confirmed"],
        secret_encrypted="not-a-real-ciphertext",
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=webhook,
        event_type="booking.confirmed",
        body="{}",
        order_key="booking:1",
        retry_until=timezone.now() + timedelta(days=1),
        state="failed",
    )
    token = ApiToken.objects.create(
        owner=host, name="Alice's token", prefix="so_alice", token_hash="0" * 64
    )
    team_page = make_team_page(
        org=org, admin=host, kind="round_robin", users=[teammate, carol], slug="team-rr"
    )
    with django_capture_on_commit_callbacks(execute=False):
        invitation = invitation_create(
            organization=organization, email="new@example.com", role="member", invited_by=host
        )
    return {
        "invitation": invitation.pk,
        "membership": Membership.objects.get(user=carol).pk,
        "team_page": team_page.pk,
        "page": page.pk,
        "pushed": pushed.pk,
        "connection": calendar.connection_id,
        "booking": booking.pk,
        "webhook": webhook.pk,
        "delivery": delivery.pk,
        "token": token.pk,
    }


def _unchanged(host, ids) -> None:
    page = BookingPage.objects.get(pk=ids["page"])
    assert page.is_active
    assert page.title == "Alice's secret page"
    assert BookingPage.objects.filter(pk=ids["team_page"]).exists()
    assert Membership.objects.get(pk=ids["membership"]).removed_at is None
    assert Membership.objects.get(user=host).role == Role.ADMIN
    assert Invitation.objects.get(pk=ids["invitation"]).state == InvitationState.PENDING
    connection = CalendarConnection.objects.get(pk=ids["connection"])
    assert connection.status == ConnectionStatus.CONNECTED
    booking = Booking.objects.get(pk=ids["booking"])
    assert booking.status == BookingStatus.CONFIRMED
    webhook = WebhookEndpoint.objects.get(pk=ids["webhook"])
    assert webhook.is_active
    assert webhook.url == "https://hooks.alice.example/in"
    assert ApiToken.objects.get(pk=ids["token"]).revoked_at is None


def _try_everything(client, ids) -> dict[str, tuple[int, int]]:
    answers = {}
    for route in setup_paths():
        path = _fill(route, ids)
        got = client.get(path)
        posted = client.post(path, {"role": "member", "email": "x@example.com", "name": "X"})
        for answer in (got, posted):
            assert answer.status_code < 500, path
            raw = (
                b"".join(answer.streaming_content) if answer.streaming else answer.content
            )  # the meetings export streams
            body = raw.decode(errors="replace")
            for word in SECRET_WORDS:
                assert word not in body, (path, word)
        answers[route] = (got.status_code, posted.status_code)
    return answers


def test_another_organizations_admin_reaches_nothing_of_alices(
    client, host, alices_org, outsider, other_org
):
    client.force_login(outsider)
    answers = _try_everything(client, alices_org)
    for route, (got, posted) in answers.items():
        if "<" in route:  # an id of Alice's: as if it did not exist
            assert got in (404, 405), (route, got)
            assert posted in (404, 405), (route, posted)
    # Charlie's own Team page lists only Charlie's organization.
    team = client.get("/setup/team/").content.decode()
    assert "bob@example.com" not in team
    assert "team-rr" not in team
    _unchanged(host, alices_org)


def test_a_member_who_is_not_an_admin_gets_no_team_page_and_none_of_alices_things(
    client, host, teammate, alices_org
):
    client.force_login(teammate)
    answers = _try_everything(client, alices_org)
    for route, (got, posted) in answers.items():
        if route.startswith("setup/team/"):
            assert got in (403, 405), (route, got)
            assert posted == 403, (route, posted)
        elif "<" in route:
            assert got in (404, 405), (route, got)
            assert posted in (404, 405), (route, posted)
    assert 'href="/setup/team/"' not in client.get("/setup/").content.decode()
    _unchanged(host, alices_org)


def test_logged_out_every_setup_url_asks_to_log_in(client, alices_org):
    for route in setup_paths():
        path = _fill(route, alices_org)
        answer = client.get(path)
        if answer.status_code in (403, 405):  # e.g. Microsoft's callback without a sign-in
            continue
        assert answer.status_code == 302, path
        assert "/accounts/login/" in answer["Location"], path
