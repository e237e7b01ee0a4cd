"""Setup → booking page at 1280 px: the whole form fits under 1,500 px with nothing
removed (advanced sections fold into <details>, short fields share rows), and a folded
section opens by itself when it holds an error."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from booking.services.pages import QuestionData, page_create
from tests.support.browser import log_in, off_loop

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FOLDED = ("Date overrides", "Limits", "Reminders", "Booking questions", "Embed on your site")


def _page(host):
    return page_create(
        host=host,
        fields={"title": "Intro", "slug": "intro"},
        questions=[QuestionData(label="Company", kind="text", required=True)],
    )


def test_the_page_form_is_under_1500_px_at_1280(transactional_db, host, live_server, chromium):
    page = off_loop(lambda: _page(host))
    tab = chromium.new_page(viewport={"width": 1280, "height": 900})
    log_in(tab, live_server.url, host.email)
    for path in ("/setup/booking-pages/new/", f"/setup/booking-pages/{page.pk}/"):
        tab.goto(live_server.url + path)
        height = tab.locator("form.page-form").bounding_box()["height"]
        assert height < 1500, (path, height)
        # Nothing removed: every folded section is there and opens from the keyboard.
        for name in FOLDED:
            summary = tab.locator("details.fold > summary", has_text=name)
            expect(summary).to_have_count(1)
        limits = tab.locator("details.fold", has=tab.locator("summary", has_text="Limits"))
        expect(limits.get_by_label("Maximum bookings per day")).to_be_hidden()
        limits.locator("summary").focus()
        tab.keyboard.press("Enter")
        expect(limits.get_by_label("Maximum bookings per day")).to_be_visible()
    questions = tab.locator("details.fold", has=tab.locator("summary", has_text="questions"))
    questions.locator("summary").click()
    expect(questions.locator('input[value="Company"]')).to_be_visible()


def test_a_folded_section_with_an_error_opens(transactional_db, host, live_server, chromium):
    page = off_loop(lambda: _page(host))
    tab = chromium.new_page(viewport={"width": 1280, "height": 900})
    log_in(tab, live_server.url, host.email)
    tab.goto(f"{live_server.url}/setup/booking-pages/{page.pk}/")
    limits = tab.locator("details.fold", has=tab.locator("summary", has_text="Limits"))
    limits.locator("summary").click()
    limits.get_by_label("Maximum bookings per day").fill("-3")
    limits.locator("summary").click()  # folded again before saving
    tab.get_by_role("button", name="Save changes").click()
    expect(tab.get_by_text("Please correct the highlighted fields.")).to_be_visible()
    limits = tab.locator("details.fold", has=tab.locator("summary", has_text="Limits"))
    expect(limits).to_have_attribute("open", "")
    expect(limits.get_by_label("Maximum bookings per day")).to_be_visible()
    others = tab.locator("details.fold:not([open])")
    expect(others).to_have_count(len(FOLDED) - 1)


@pytest.mark.parametrize("width", [375, 1280])
def test_the_page_time_zone_is_picked_like_the_invitees(
    transactional_db, host, live_server, chromium, screenshots, width
):
    """The same picker as Profile and the booking page: named zones, searched by city;
    the page keeps its zone (London), not the browser's (Tokyo), until the host picks."""
    from booking.models import BookingPage

    page = off_loop(lambda: _page(host))
    tab = chromium.new_page(viewport={"width": width, "height": 900}, timezone_id="Asia/Tokyo")
    log_in(tab, live_server.url, host.email)
    tab.goto(f"{live_server.url}/setup/booking-pages/{page.pk}/")
    field = tab.get_by_role("combobox", name="Page time zone")
    london = _starting("United Kingdom Time \N{EM DASH} London (")
    expect(field).to_have_value(london, timeout=30_000)  # once the zone names have come
    field.fill("kolkata")
    tab.keyboard.press("Enter")
    expect(field).to_have_value(_starting("India Time \N{EM DASH} Kolkata ("))
    screenshots.take(tab, f"page-zone-{width}")
    tab.get_by_role("button", name="Save changes").click()
    expect(tab.get_by_text("Your booking page was saved.")).to_be_visible()
    assert off_loop(lambda: BookingPage.objects.get(pk=page.pk).time_zone) == "Asia/Kolkata"


def _starting(text: str) -> re.Pattern:
    return re.compile("^" + re.escape(text))
