"""In a real browser: a host makes a page; an invitee in Kolkata books, gets the .ics,
moves the meeting on a day the page has no room left for anyone else, and cancels."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from booking.models import Booking, BookingPage, BookingStatus
from tests.support.booking import at, workday
from tests.support.browser import log_in, off_loop

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_host_creates_a_page_and_an_invitee_in_kolkata_books_and_cancels(
    transactional_db, host, live_server, chromium, screenshots
):
    # Playwright's sync API keeps an event loop in this thread: database reads go
    # through off_loop.
    base = live_server.url

    # The host logs in and creates a page with the default Mon-Fri 9:00-17:00 hours.
    host_context = chromium.new_context(viewport={"width": 1200, "height": 900})
    setup = host_context.new_page()
    log_in(setup, base, host.email)
    setup.goto(f"{base}/setup/booking-pages/")
    screenshots.take(setup, "host-no-pages")
    setup.click("text=Create your first booking page")
    setup.fill("#id_page-title", "Intro call")
    screenshots.take(setup, "host-new-page-form")
    setup.click("text=Create booking page")
    setup.wait_for_selector("text=is ready")
    screenshots.take(setup, "host-page-created")
    page_row = off_loop(BookingPage.objects.get)
    assert page_row.slug == "intro-call"
    link = f"{base}/book/intro-call/"

    # An invitee in Kolkata, on a phone-sized screen, opens the link.
    invitee_context = chromium.new_context(
        viewport={"width": 375, "height": 800},
        timezone_id="Asia/Kolkata",
        locale="en-GB",  # 24-hour times; tests/i18n covers en-US and German
        accept_downloads=True,
    )
    invitee = invitee_context.new_page()
    errors: list[str] = []
    invitee.on("pageerror", lambda error: errors.append(str(error)))
    invitee.goto(link)
    assert invitee.get_attribute("#tz-input", "data-zone") == "Asia/Kolkata"
    day = workday("Asia/Kolkata", days_ahead=2)
    day_button = _show_month_of(invitee, day)
    screenshots.take(invitee, "invitee-month")

    # By keyboard: focus the day, move right and back with the arrows, choose it with Enter.
    day_button.focus()
    open_days = invitee.eval_on_selector_all(
        "button.day.has-slots", "buttons => buttons.map(b => b.dataset.date)"
    )
    there, back = ("ArrowRight", "ArrowLeft")
    if open_days[-1] == day.isoformat():
        there, back = back, there
    if len(open_days) > 1:
        invitee.keyboard.press(there)
        assert invitee.evaluate("document.activeElement.dataset.date") != day.isoformat()
        invitee.keyboard.press(back)
    assert invitee.evaluate("document.activeElement.dataset.date") == day.isoformat()
    invitee.keyboard.press("Enter")
    kolkata = ZoneInfo("Asia/Kolkata")
    london_starts = [at(day, 9) + timedelta(minutes=30 * i) for i in range(16)]
    expected = [f"{s.astimezone(kolkata):%H:%M}" for s in london_starts]
    assert invitee.locator("button.slot").all_inner_texts() == expected
    screenshots.take(invitee, "invitee-slots-in-kolkata-time")

    invitee.locator("button.slot").first.focus()
    invitee.keyboard.press("Enter")
    invitee.wait_for_selector("#booking-form", state="visible")
    invitee.fill("#f-name", "Priya Invitee")
    invitee.fill("#f-email", "not-an-email")
    invitee.click("#book-button")
    invitee.wait_for_selector("#err-email:not([hidden])")
    screenshots.take(invitee, "invitee-form-error")
    invitee.fill("#f-email", "priya@example.com")
    invitee.focus("#f-email")
    invitee.keyboard.press("Enter")
    invitee.wait_for_url("**/bookings/**")
    confirmation = invitee.content()
    screenshots.take(invitee, "invitee-confirmation")
    assert "booked with Alice Host" in confirmation
    assert expected[0] in confirmation
    assert "Asia/Kolkata" in confirmation

    booking = off_loop(Booking.objects.get)
    assert booking.start == london_starts[0]
    assert booking.invitee_time_zone == "Asia/Kolkata"

    with invitee.expect_download() as download_info:
        invitee.click("text=Add to calendar (.ics)")
    ics = Path(download_info.value.path()).read_bytes()
    event = icalendar.Calendar.from_ical(ics).walk("VEVENT")[0]
    assert str(event["UID"]) == str(booking.uuid)
    assert event.decoded("DTSTART") == london_starts[0]

    # The host now takes one meeting a day: that day is full for anyone else, yet the
    # invitee moving hers sees every other time of it (her own is where she already is).
    off_loop(lambda: BookingPage.objects.filter(pk=page_row.pk).update(max_per_day=1))
    invitee.click("text=Reschedule")
    _show_month_of(invitee, day).click()
    assert invitee.locator("button.slot").all_inner_texts() == expected[1:]
    invitee.locator("button.slot", has_text=expected[2]).click()
    screenshots.take(invitee, "invitee-reschedule")
    invitee.click("text=Move my meeting to this time")
    invitee.wait_for_selector("text=Your meeting with Alice Host was moved")
    assert expected[2] in invitee.inner_text("#booking-when")
    screenshots.take(invitee, "invitee-rescheduled")
    off_loop(booking.refresh_from_db)
    assert (booking.start, booking.sequence) == (london_starts[2], 1)

    invitee.click("text=Cancel meeting")
    invitee.fill("#id_reason", "Found another time")
    screenshots.take(invitee, "invitee-cancel-form")
    invitee.click("button:has-text('Cancel the meeting')")
    invitee.wait_for_selector("text=This meeting was cancelled")
    screenshots.take(invitee, "invitee-cancelled")
    off_loop(booking.refresh_from_db)
    assert (booking.status, booking.cancel_reason) == (
        BookingStatus.CANCELLED,
        "Found another time",
    )
    assert errors == []
    invitee_context.close()
    host_context.close()


def _show_month_of(page, day):
    """Wait for the month grid, moving to the next month if ``day`` is in it; its button."""
    page.wait_for_selector("button.day.has-slots, #cal-status:has-text('No free times')")
    button = page.locator(f'button.day[data-date="{day.isoformat()}"]')
    if not button.count():
        page.click("#next-month")
    page.wait_for_selector(f'button.day.has-slots[data-date="{day.isoformat()}"]')
    return button
