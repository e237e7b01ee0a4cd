"""Setup → booking page: the compact weekly-hours editor (one line per day, an Open
switch, ranges added and removed inline, Monday copied to the other weekdays)."""

from __future__ import annotations

from datetime import time

import pytest
from playwright.sync_api import expect

from booking.models import WeeklyHours
from booking.services.pages import page_create
from tests.support.browser import log_in, off_loop

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _hours(pk: int) -> list[tuple[int, time, time]]:
    rows = WeeklyHours.objects.filter(page_id=pk).order_by("weekday", "start")
    return [(row.weekday, row.start, row.end) for row in rows]


def test_the_compact_hours_editor(transactional_db, host, live_server, chromium, screenshots):
    page = off_loop(lambda: page_create(host=host, fields={"title": "Intro", "slug": "intro"}))
    tab = chromium.new_page(viewport={"width": 1280, "height": 900})
    log_in(tab, live_server.url, host.email)
    tab.goto(f"{live_server.url}/setup/booking-pages/{page.pk}/")
    screenshots.take(tab, "page-form")

    days = tab.locator(".weekdays .weekday")
    opens = [days.nth(i).locator(".day-open").is_checked() for i in range(7)]
    assert opens == [True] * 5 + [False] * 2
    saturday = days.nth(5)
    saturday.locator(".day-open").check()
    expect(saturday.locator('input[name$="-start"]:visible')).to_have_value("09:00")

    monday = days.nth(0)
    monday.locator('input[name$="-start"]:visible').fill("10:00")
    monday.locator('input[name$="-end"]:visible').fill("16:00")
    tab.get_by_role("button", name="Copy Monday to Tuesday\N{EN DASH}Friday").click()
    expect(days.nth(3).locator('input[name$="-start"]:visible')).to_have_value("10:00")
    wednesday = days.nth(2)
    wednesday.locator(".remove-range:visible").click()
    expect(wednesday.locator(".day-open")).not_to_be_checked()

    tab.get_by_role("button", name="Save changes").click()
    expect(tab.get_by_text("Your booking page was saved.")).to_be_visible()
    ten, four, nine, five = time(10), time(16), time(9), time(17)
    assert off_loop(lambda: _hours(page.pk)) == [
        (0, ten, four),
        (1, ten, four),
        (3, ten, four),
        (4, ten, four),
        (5, nine, five),
    ]
