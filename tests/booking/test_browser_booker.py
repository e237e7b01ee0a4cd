"""The public booking page in a real browser: the time zone field and a slot taken meanwhile."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from booking.services.bookings import Invitee, booking_create
from booking.services.pages import page_create
from tests.support.booking import at, next_fall_back, workday
from tests.support.browser import log_in, off_loop

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _open_page(host, live_server, chromium, *, zone: str = "Europe/London"):
    off_loop(lambda: page_create(host=host, fields={"title": "Intro call", "slug": "intro"}))
    # A British invitee: 24-hour times (tests/i18n covers 12-hour en-US and German).
    context = chromium.new_context(
        viewport={"width": 375, "height": 800}, timezone_id=zone, locale="en-GB"
    )
    invitee = context.new_page()
    errors: list[str] = []
    invitee.on("pageerror", lambda error: errors.append(str(error)))
    invitee.goto(f"{live_server.url}/book/intro/")
    invitee.wait_for_selector("button.day.has-slots, #cal-status:has-text('No free times')")
    return invitee, errors


@pytest.mark.parametrize(
    ("typed", "zone", "read"),
    [
        ("kolkata", "Asia/Kolkata", "India Time \N{EM DASH} Kolkata (UTC+5:30)"),
        ("New York", "America/New_York", "Eastern Time \N{EM DASH} New York (UTC"),
        ("  europe/paris ", "Europe/Paris", "Central European Time \N{EM DASH} Paris (UTC+"),
        ("Asia/Calcutta", "Asia/Kolkata", "India Time \N{EM DASH} Kolkata (UTC+5:30)"),
    ],
    ids=["city", "city-with-space", "name-in-lowercase", "old-name"],
)
def test_typing_a_city_or_a_name_in_any_case_picks_its_zone(
    transactional_db, host, live_server, chromium, screenshots, typed, zone, read
):
    # The help text says: type to search, e.g. "Kolkata". Enter (or leaving the field)
    # without picking from the suggestions must work too, as on phones.
    invitee, errors = _open_page(host, live_server, chromium)
    invitee.fill("#tz-input", typed)
    invitee.keyboard.press("Enter")
    # The zone names come with the first picker of this server: slow on a busy machine.
    status = invitee.locator("#cal-status")
    expect(status).to_contain_text(f"Times are shown in {read}", timeout=30_000)
    screenshots.take(invitee, "zone-picked")
    assert invitee.get_attribute("#tz-input", "data-zone") == zone
    assert invitee.is_hidden("#tz-error")
    assert invitee.get_attribute("#tz-input", "aria-invalid") is None
    assert errors == []


def test_a_city_typed_before_the_zone_names_came_is_found_when_they_come(
    transactional_db, host, live_server, chromium
):
    """A fast typist on a slow line: "kolkata" is in the field before the names are;
    when they arrive the list shows its match, and Enter picks it."""
    off_loop(lambda: page_create(host=host, fields={"title": "Intro call", "slug": "intro"}))
    context = chromium.new_context(timezone_id="Europe/London", locale="en-GB")
    invitee = context.new_page()
    held = []
    invitee.route("**/time-zones.json*", lambda route: held.append(route))
    invitee.goto(f"{live_server.url}/book/intro/")
    invitee.wait_for_selector("button.day.has-slots, #cal-status:has-text('No free times')")
    # The picker asked at start; a round trip to the browser delivers the held request.
    for _ in range(100):
        if held:
            break
        invitee.evaluate("1")
    assert held, "the page asks for the zone names"
    # No names yet: typing opens an empty list.
    assert not invitee.locator("#tz-input-list li[role=option]").count()
    invitee.fill("#tz-input", "kolkata")
    held[0].continue_()
    option = invitee.locator("#tz-input-list li[role=option]").first
    expect(option).to_contain_text("Kolkata", timeout=30_000)
    invitee.keyboard.press("Enter")
    expect(invitee.locator("#cal-status")).to_contain_text(
        "Times are shown in India Time \N{EM DASH} Kolkata (UTC+5:30)", timeout=30_000
    )
    assert invitee.is_hidden("#tz-error")
    context.close()


def test_an_unknown_zone_is_refused_with_a_message(
    transactional_db, host, live_server, chromium, screenshots
):
    invitee, errors = _open_page(host, live_server, chromium)
    for typed in ["Narnia", "Atlantis Standard"]:
        invitee.fill("#tz-input", typed)
        invitee.keyboard.press("Enter")
        invitee.wait_for_selector("#tz-error:not([hidden])")
        assert invitee.get_attribute("#tz-input", "aria-invalid") == "true"
    screenshots.take(invitee, "zone-refused")
    assert "United Kingdom Time \N{EM DASH} London" in invitee.inner_text("#cal-status")
    assert errors == []


def test_a_time_taken_meanwhile_says_so_and_is_gone_from_the_list(
    transactional_db, host, live_server, chromium, screenshots
):
    invitee, errors = _open_page(host, live_server, chromium)
    day = workday("Europe/London")
    button = invitee.locator(f'button.day[data-date="{day.isoformat()}"]')
    if not button.count():
        invitee.click("#next-month")
    invitee.click(f'button.day.has-slots[data-date="{day.isoformat()}"]')
    invitee.locator("button.slot", has_text="10:00").click()
    invitee.fill("#f-name", "Priya Invitee")
    invitee.fill("#f-email", "priya@example.com")

    # Someone else books 10:00 while Priya types.
    def someone_else_books():
        from booking.models import BookingPage

        page = BookingPage.objects.get(slug="intro")
        booking_create(page=page, start=at(day, 10), invitee=Invitee("Eve", "e@x.co", "UTC"))

    off_loop(someone_else_books)
    invitee.click("#book-button")
    invitee.wait_for_selector("text=just taken")
    screenshots.take(invitee, "slot-taken")
    # (A locator, not wait_for_function: its string predicate is an eval the page's
    # Content-Security-Policy refuses.)
    expect(invitee.locator("button.slot", has_text=re.compile(r"^10:00$"))).to_have_count(0)
    times = invitee.locator("button.slot").all_inner_texts()
    assert "10:00" not in times
    assert "10:30" in times
    assert invitee.is_visible("text=just taken")
    assert errors == []


def test_times_repeated_when_the_invitees_clocks_go_back_show_their_offset(
    transactional_db, host, live_server, chromium, screenshots
):
    # Sydney turns its clocks back from 03:00 to 02:00 on a Sunday in April: a UTC page
    # open from an hour before to an hour after offers 02:00 and 02:30 there twice.
    sydney = ZoneInfo("Australia/Sydney")
    change = next_fall_back(sydney)
    before = change - timedelta(hours=1)
    off_loop(
        lambda: page_create(
            host=host,
            fields={"title": "Late call", "slug": "late", "time_zone": "UTC", "horizon_days": 730},
            overrides=[(before.date(), before.time(), (change + timedelta(hours=1)).time())],
        )
    )
    day = change.astimezone(sydney).date().isoformat()
    invitee = chromium.new_context(timezone_id="Australia/Sydney", locale="en-GB").new_page()
    invitee.goto(f"{live_server.url}/book/late/")
    while True:
        invitee.wait_for_selector("#cal-status:not(:has-text('Loading'))")
        if invitee.locator(f'button.day.has-slots[data-date="{day}"]').count():
            break
        invitee.click("#next-month")
    invitee.click(f'button.day[data-date="{day}"]')
    slots = invitee.locator("button.slot")
    assert slots.all_inner_texts() == [
        "02:00\nUTC+11",
        "02:30\nUTC+11",
        "02:00\nUTC+10",
        "02:30\nUTC+10",
    ]
    assert slots.nth(2).get_attribute("aria-label") == "02:00 (UTC+10) to 02:30"
    slots.nth(2).click()
    screenshots.take(invitee, "repeated-hour")
    assert "02:00 (UTC+10) \N{EN DASH} 02:30" in invitee.inner_text("#chosen-slot")


def test_the_month_buttons_keep_the_keyboard_focus_at_either_end(
    transactional_db, host, live_server, chromium
):
    invitee, errors = _open_page(host, live_server, chromium)
    invitee.focus("#next-month")
    for _ in range(6):  # 60 days ahead: at most three months
        if invitee.is_disabled("#next-month"):
            break
        invitee.keyboard.press("Enter")
    assert invitee.is_disabled("#next-month")
    assert invitee.evaluate("document.activeElement.id") == "prev-month"
    for _ in range(6):
        if invitee.is_disabled("#prev-month"):
            break
        invitee.keyboard.press("Enter")
    assert invitee.is_disabled("#prev-month")
    assert invitee.evaluate("document.activeElement.id") == "next-month"
    assert errors == []


def test_copy_link_says_it_copied_or_that_it_could_not(
    transactional_db, host, live_server, chromium
):
    off_loop(lambda: page_create(host=host, fields={"title": "Intro call", "slug": "intro"}))
    context = chromium.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    setup = context.new_page()
    log_in(setup, live_server.url, host.email)
    setup.goto(f"{live_server.url}/setup/booking-pages/")
    setup.click("button[data-copy]")
    status = setup.locator("[role=status]", has_text="Link copied")
    status.wait_for(state="attached")
    assert "/book/intro/" in status.inner_text()
    assert "/book/intro/" in setup.evaluate("navigator.clipboard.readText()")
    # Where the browser has no clipboard (plain http on another machine), it says so.
    setup.evaluate("Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    setup.click("button[data-copy]")
    setup.locator("[role=status]", has_text="Could not copy").wait_for(state="attached")
    assert setup.inner_text("button[data-copy]") == "Select the link to copy"


def test_the_zone_reads_as_people_name_it_everywhere_on_the_page(
    transactional_db, host, live_server, chromium, screenshots
):
    """Not "America/New_York": the visitor's zone by its name, city and offset that day."""
    invitee, errors = _open_page(host, live_server, chromium, zone="America/New_York")
    eastern = re.compile("Eastern Time \N{EM DASH} New York \\(UTC\N{MINUS SIGN}[45]\\)")
    expect(invitee.locator("#cal-status")).to_contain_text(eastern)
    invitee.locator("button.day.has-slots").first.click()
    expect(invitee.locator("#slots-zone")).to_have_text(eastern)
    invitee.locator("button.slot").first.click()
    expect(invitee.locator("#chosen-slot .chosen-zone")).to_have_text(eastern)
    screenshots.take(invitee, "zone-names")
    assert "America/New_York" not in invitee.inner_text("main")
    assert errors == []


@pytest.mark.parametrize("width", [375, 1280])
def test_the_chosen_zone_is_shown_whole_at_any_width(
    transactional_db, host, live_server, chromium, screenshots, width
):
    """A long name (German, with the time and offset) wraps instead of being cut off."""
    off_loop(lambda: page_create(host=host, fields={"title": "Intro call", "slug": "intro"}))
    context = chromium.new_context(
        viewport={"width": width, "height": 800}, timezone_id="America/New_York", locale="de-DE"
    )
    invitee = context.new_page()
    invitee.goto(f"{live_server.url}/book/intro/")
    shown = invitee.locator(".tz-field .zone-box .zone-value")
    expect(shown).to_contain_text(
        "Nordamerikanische Ostküstenzeit \N{EM DASH} New York (", timeout=30_000
    )
    assert shown.inner_text() == invitee.input_value("#tz-input")
    fits = shown.evaluate("box => box.scrollWidth <= box.clientWidth")
    see_through = invitee.locator("#tz-input").evaluate(
        "field => getComputedStyle(field).color === 'rgba(0, 0, 0, 0)'"
    )
    screenshots.take(invitee, f"zone-whole-{width}")
    assert fits
    assert see_through  # the field's own (one-line) text is see-through while not focused
    context.close()


def test_a_device_zone_the_picker_does_not_offer_falls_back_to_the_pages(
    transactional_db, host, live_server, chromium
):
    """Etc/GMT+5 is a zone, but not one people pick (accounts.timezones): the page's zone."""
    invitee, errors = _open_page(host, live_server, chromium, zone="Etc/GMT+5")
    assert invitee.get_attribute("#tz-input", "data-zone") == "Europe/London"
    assert errors == []


def test_the_zone_names_are_asked_again_when_the_first_answer_fails(
    transactional_db, host, live_server, chromium
):
    off_loop(lambda: page_create(host=host, fields={"title": "Intro call", "slug": "intro"}))
    context = chromium.new_context(timezone_id="Asia/Kolkata", locale="en-GB")
    invitee = context.new_page()
    failed = []

    def fail_once(route):
        if failed:
            route.continue_()
        else:
            failed.append(route.request.url)
            route.fulfill(status=503, body="busy")

    invitee.route("**/time-zones.json*", fail_once)
    invitee.goto(f"{live_server.url}/book/intro/")
    expect(invitee.locator("#tz-input")).to_have_value(
        re.compile("^India Time \N{EM DASH} Kolkata \\("), timeout=30_000
    )
    assert len(failed) == 1
    context.close()
