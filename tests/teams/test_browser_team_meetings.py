"""An organization's admin looks at a member's meetings in a real browser: the Host
filter, the list with each meeting's host, and the member's meeting, which the admin
can read but not change. Screenshots:
``var/screenshots/test_an_admin_looks_at_a_members_meetings_in_the_browser/``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from booking.services.pages import page_create
from tests.support.browser import log_in, off_loop
from tests.support.meetings import meeting, tomorrow_ten

pytestmark = [pytest.mark.browser]


def test_an_admin_looks_at_a_members_meetings_in_the_browser(
    live_server, org, host, teammate, chromium, screenshots
):
    def two_meetings():
        alices = page_create(host=host, fields={"title": "Alice intro", "slug": "alice-intro"})
        bobs_page = page_create(host=teammate, fields={"title": "Bob demo", "slug": "bob-demo"})
        soon = tomorrow_ten()
        meeting(alices, soon, name="Ann Alicesguest", email="ann@example.com")
        return meeting(bobs_page, soon + timedelta(hours=1), name="Ben Bobsguest", email="b@x.org")

    bobs = off_loop(two_meetings)  # Playwright's loop runs in this thread

    page = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    log_in(page, live_server.url, host.email)
    page.goto(f"{live_server.url}/setup/meetings/")
    rows = page.locator("tr[data-meeting]")
    expect(rows).to_have_count(1)
    expect(page.locator('[data-tab="upcoming"] .badge')).to_have_text("1")
    screenshots.take(page, "mine")

    page.get_by_label("Host").select_option(label="Everyone")
    page.get_by_role("button", name="Show").click()
    expect(rows).to_have_count(2)
    expect(page.locator(f'tr[data-meeting="{bobs.pk}"]')).to_contain_text("with Bob Teammate")
    expect(page.locator('[data-tab="upcoming"] .badge')).to_have_text("2")
    assert "host=all" in page.url
    screenshots.take(page, "everyone")

    page.locator(f'tr[data-meeting="{bobs.pk}"] .invitee-name').click()
    expect(page.get_by_test_id("hosted-by-other")).to_have_text(
        "Bob Teammate hosts this meeting: only they can change it."
    )
    expect(page.get_by_role("link", name="Cancel meeting")).to_have_count(0)
    screenshots.take(page, "members-meeting")
