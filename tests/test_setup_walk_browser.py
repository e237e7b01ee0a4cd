"""A walk through the Setup pages an admin of a team uses most (Team, a new team page,
Meetings, a new booking page, API tokens) in German and English, on a phone and a
desktop: no page scrolls sideways, no select or placeholder is cut off, and on a desktop
no word breaks across lines."""

from __future__ import annotations

import pytest

from tests.support.browser import broken_words, cut_off_text, log_in, off_loop

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGES = [
    "/setup/team/",
    "/setup/team/pages/new/",
    "/setup/meetings/",
    "/setup/booking-pages/new/",
    "/setup/profile/api-tokens/",  # last: the gaps below are measured on it
]


def _admin_with_a_team(host, teammate) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import Membership, Role
    from accounts.services import organization_create_for
    from booking.services.teams import Seat, team_page_create
    from integrations.tokens import token_create

    organization = organization_create_for(user=host).organization
    Membership.objects.create(organization=organization, user=teammate, role=Role.MEMBER)
    team_page_create(
        admin=host,
        organization=organization,
        kind="collective",
        fields={"title": "Kundenberatung", "slug": "beratung"},
        seats=[Seat(user_id=host.pk), Seat(user_id=teammate.pk)],
    )
    token_create(owner=host, name="CRM-Synchronisierung", expires_in_days=90)
    token_create(
        owner=host, name="Old", expires_in_days=30, now=timezone.now() - timedelta(days=40)
    )
    token_create(owner=teammate, name="Bob's report", expires_in_days=365)


@pytest.mark.parametrize("locale", ["de-DE", "en-GB"])
@pytest.mark.parametrize("width", [375, 1280])
def test_the_team_admins_setup_pages_lay_out_cleanly(
    transactional_db, host, teammate, live_server, chromium, screenshots, locale, width
):
    off_loop(lambda: _admin_with_a_team(host, teammate))
    page = chromium.new_context(viewport={"width": width, "height": 900}, locale=locale).new_page()
    log_in(page, live_server.url, host.email)
    for path in PAGES:
        page.goto(live_server.url + path)
        screenshots.take(page, path.strip("/").replace("/", "-"))
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], path
        assert cut_off_text(page, ".setup-main") == [], path
        if width == 1280:
            assert broken_words(page, ".setup-main") == [], path
    # API tokens: the headings after the two tables stood on the tables' last rows.
    gaps = page.evaluate(
        """[...document.querySelectorAll("table.list + h2")].map(h2 =>
             h2.getBoundingClientRect().top -
             h2.previousElementSibling.getBoundingClientRect().bottom)"""
    )
    assert len(gaps) == 2
    assert min(gaps) >= 16
