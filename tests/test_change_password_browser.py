"""In a browser, on a phone and a desktop: Profile → Change password, a wrong current
password is shown beside its field (400), then the change goes through and the
page stays logged in."""

from __future__ import annotations

import re

import pytest

from tests.support.browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize("width", [375, 1280])
def test_change_password_from_profile(
    transactional_db, host, live_server, chromium, screenshots, width
):
    page = chromium.new_context(viewport={"width": width, "height": 800}).new_page()
    statuses: list[int] = []
    page.on(
        "response",
        lambda answer: statuses.append(answer.status) if answer.request.method == "POST" else None,
    )
    log_in(page, live_server.url, host.email)
    page.wait_for_url(re.compile(r"/setup/"))
    page.goto(f"{live_server.url}/setup/profile/")
    page.get_by_role("link", name="Change password").click()
    page.wait_for_url(re.compile(r"/setup/profile/password/"))
    page.get_by_label("Current password").fill("not-my-password")
    page.get_by_label("New password", exact=True).fill("a-brand-new-pass-phrase-2")
    page.get_by_label("New password again").fill("a-brand-new-pass-phrase-2")
    page.get_by_role("button", name="Change password").click()
    page.get_by_text("That is not your current password.").wait_for()
    screenshots.take(page, f"mistake-{width}")
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1]
    # The cursor is back in the field to correct.
    assert page.evaluate("document.activeElement.id") == "id_old_password"
    page.get_by_label("Current password").fill("alice-password-1")
    page.get_by_label("New password", exact=True).fill("a-brand-new-pass-phrase-2")
    page.get_by_label("New password again").fill("a-brand-new-pass-phrase-2")
    page.get_by_role("button", name="Change password").click()
    page.get_by_text("Your password was changed.").wait_for()
    screenshots.take(page, f"changed-{width}")
    assert page.url.endswith("/setup/profile/")
    assert statuses[-2:] == [400, 302]
