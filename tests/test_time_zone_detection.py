"""Forms that ask for a time zone preselect the browser's, under today's IANA name."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

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
    # The zone picker stands in front of the form's select, which is what is sent.
    assert page.locator("select[name=time_zone]").input_value() == expected
    picker = page.get_by_label("Time zone")
    expect(picker).to_have_attribute("data-zone", expected)
    expect(picker).to_have_value(re.compile(r"^India Time \u2014 Kolkata \(.*, UTC\+5:30\)$"))
    picker.fill("new york")
    picker.press("Enter")
    assert page.locator("select[name=time_zone]").input_value() == "America/New_York"
    context.close()
