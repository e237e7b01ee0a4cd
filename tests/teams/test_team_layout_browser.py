"""Team and a team page's form lay out cleanly in German and English, on a phone (375
pixels) and a desktop (1280): no word broken across lines in the members table, and the
team page's Members fieldset clear of the buttons below it."""

from __future__ import annotations

import pytest

from tests.support.browser import broken_words, log_in, off_loop

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LANGUAGES = {"de": "de-DE", "en": "en-GB"}


def _team_with_long_addresses(host, teammate, django_user_model) -> None:
    """Alice (admin) with three pages, Bob and Carol; everyone's Office 365 connected under
    a long address, as a real tenant's addresses are. Carol's was then refused by Microsoft
    (Team says why and who must act) and a booking of Bob's did not reach his calendar."""
    from accounts.models import Membership, Role
    from accounts.services import organization_create_for
    from booking.services.pages import page_create
    from booking.services.teams import Seat, team_page_create
    from tests.teams.conftest import connect

    organization = organization_create_for(user=host).organization
    carol = django_user_model.objects.create_user(
        "carol.schneider-weiss@example.com", "carol-password-1", name="Carol Schneider-Weiß"
    )
    for user in (teammate, carol):
        Membership.objects.create(organization=organization, user=user, role=Role.MEMBER)
    calendars = [
        connect(user, address)
        for user, address in (
            (host, "alice.host@contoso.onmicrosoft.com"),
            (teammate, "bob.teammate@contoso.onmicrosoft.com"),
            (carol, "carol.schneider-weiss@contoso.onmicrosoft.com"),
        )
    ]
    _health_troubles(bob=calendars[1], carol=calendars[2])
    for title, slug in (("Erstgespräch mit Neukunden", "erst"), ("Quartalsbesprechung", "q")):
        page_create(host=host, fields={"title": title, "slug": slug})
    team_page_create(
        admin=host,
        organization=organization,
        kind="round_robin",
        fields={"title": "Support rota", "slug": "support-rota"},
        seats=[Seat(user_id=teammate.pk), Seat(user_id=carol.pk)],
    )


def _health_troubles(*, bob, carol) -> None:
    from django.utils import timezone

    from calendars.error_text import error_stored
    from calendars.events import EventDescription
    from calendars.models import CalendarConnection, DisconnectReason, PushedEvent, PushState
    from calendars.providers import ProviderError

    CalendarConnection.objects.filter(pk=carol.connection_id).update(
        status="disconnected",
        disconnect_reason=DisconnectReason.REVOKED,
        disconnected_at=timezone.now(),
    )
    error = ProviderError("no mailbox", status=404, code="MailboxNotEnabledForRESTAPI")
    PushedEvent.objects.create(
        host=bob.connection.host,
        calendar=bob,
        source="booking:layout",
        payload=EventDescription.from_json(
            {
                "subject": "Erstgespräch",
                "start": "2026-12-10T09:00:00+00:00",
                "end": "2026-12-10T09:30:00+00:00",
                "time_zone": "UTC",
            }
        ).to_json(),
        state=PushState.FAILED,
        last_error=error_stored(error, provider_key="office365"),
    )


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize("width", [375, 1280])
def test_team_members_keep_their_words_whole(
    transactional_db, host, teammate, django_user_model, live_server, chromium, language, width
):
    # At 1280 pixels in German the columns were squeezed under the body's
    # overflow-wrap "anywhere": "Entfe/rnen", "Buchungssei/ten", every email in pieces.
    off_loop(lambda: _team_with_long_addresses(host, teammate, django_user_model))
    context = chromium.new_context(
        viewport={"width": width, "height": 900}, locale=LANGUAGES[language]
    )
    page = context.new_page()
    log_in(page, live_server.url, host.email)
    page.goto(live_server.url + "/setup/team/")
    assert page.locator("#members tbody tr").count() == 3
    assert page.locator("[data-testid=failed-pushes]").count() == 1
    assert page.locator("[data-testid=health-line]").count() == 3  # Carol's why, since, who
    assert broken_words(page, "#members") == []
    # The table fits its card: nothing (the Remove buttons) hidden to the right.
    fits = page.evaluate(
        "(() => { const t = document.querySelector('#members');"
        " return t.getBoundingClientRect().right"
        " <= t.parentElement.getBoundingClientRect().right + 1; })()"
    )
    assert fits
    if width == 375:
        # Each member is a card: its Office 365 state says what it is (the head is hidden).
        label = page.evaluate(
            "getComputedStyle(document.querySelector('#members td.connection'), '::before').content"
        )
        assert label == '"Office 365: "'
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1]
    if width == 1280:
        # Each member's role and its Change button share a line.
        for row in page.locator("#members tbody tr").all():
            select = row.locator("select[name=role]").bounding_box()
            button = row.locator("form.inline button").bounding_box()
            assert button["x"] > select["x"] + select["width"] - 1
            assert (
                abs(button["y"] + button["height"] / 2 - (select["y"] + select["height"] / 2)) < 8
            )


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize("width", [375, 1280])
def test_a_team_pages_members_fieldset_leaves_room_above_the_buttons(
    transactional_db, host, teammate, live_server, chromium, language, width
):
    # The fieldset's bottom edge touched Save and Cancel (no gap at all).
    from accounts.models import Membership, Role
    from accounts.services import organization_create_for

    def team() -> None:
        organization = organization_create_for(user=host, name="Contoso").organization
        Membership.objects.create(organization=organization, user=teammate, role=Role.MEMBER)

    off_loop(team)
    context = chromium.new_context(
        viewport={"width": width, "height": 900}, locale=LANGUAGES[language]
    )
    page = context.new_page()
    log_in(page, live_server.url, host.email)
    page.goto(live_server.url + "/setup/team/pages/new/")
    fieldset = page.locator("fieldset.team-members").bounding_box()
    save = page.locator("form.card button[type=submit]").bounding_box()
    assert save["y"] - (fieldset["y"] + fieldset["height"]) >= 12
    assert broken_words(page, "fieldset.team-members") == []
