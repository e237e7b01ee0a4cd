"""Setup → booking page: the duration is picked from choices, or typed for "Custom"."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from booking.models import BookingPage
from booking.services.pages import page_create
from tests.support.browser import log_in, off_loop

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_duration_choices_and_a_custom_one(transactional_db, host, live_server, chromium):
    page = off_loop(lambda: page_create(host=host, fields={"title": "Intro", "slug": "intro"}))
    tab = chromium.new_page()
    log_in(tab, live_server.url, host.email)
    tab.goto(f"{live_server.url}/setup/booking-pages/{page.pk}/")
    choice = tab.get_by_label("Duration", exact=False).first
    expect(choice).to_have_value("30")
    number = tab.locator("#id_page-duration_minutes")
    expect(number).to_be_hidden()
    choice.select_option("45")
    tab.get_by_role("button", name="Save changes").click()
    expect(tab.get_by_text("Your booking page was saved.")).to_be_visible()
    assert off_loop(lambda: BookingPage.objects.get(pk=page.pk).duration_minutes) == 45

    tab.locator("#duration-choice").select_option("custom")
    expect(number).to_be_visible()
    expect(number).to_be_focused()
    number.fill("25")
    tab.get_by_role("button", name="Save changes").click()
    expect(tab.get_by_text("Your booking page was saved.")).to_be_visible()
    assert off_loop(lambda: BookingPage.objects.get(pk=page.pk).duration_minutes) == 25
    expect(tab.locator("#duration-choice")).to_have_value("custom")
    expect(number).to_be_visible()
