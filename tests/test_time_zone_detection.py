"""Forms that ask for a time zone preselect the browser's, under today's IANA name."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize(("device", "expected"), [("Asia/Kolkata", "Asia/Kolkata")])
def test_sign_up_preselects_the_browsers_zone_by_its_current_name(
    live_server, chromium, device, expected
):
    # Chromium reports Kolkata by its old name, Asia/Calcutta; a host who signs up
    # there should not carry the old name into Setup, emails and booking pages.
    context = chromium.new_context(timezone_id=device)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/signup/")
    page.wait_for_load_state("load")
    assert page.get_by_label("Time zone").input_value() == expected
    context.close()
