"""The booking flow in a real browser at phone, tablet and desktop width, in en-US, en-GB
and de-DE: what the screenshots under ``docs/screenshots/`` show is checked here.

12-hour "3:00 PM" for a US invitee, "15:00" for British and German ones, German day and
month names, and the Teams join link appearing on the confirmation without a reload.
``UPDATE_DOCS_SCREENSHOTS=1`` writes the screenshots to ``docs/screenshots/`` (committed,
linked from the README); otherwise they go to ``var/screenshots/`` like other tests'.
"""

from __future__ import annotations

import os
import re
from datetime import date, time, timedelta
from pathlib import Path

import pytest
from babel.dates import format_date
from django.conf import settings
from playwright.sync_api import expect

from booking.models import Booking
from booking.services.pages import page_create
from calendars.models import Calendar, CalendarConnection, PushedEvent
from tests.support.browser import off_loop

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# (locale, the invitee's device zone, how 15:00 UTC... reads there): each books 20:00 UTC
# for New York (3:00 PM) and 14:00 UTC for London and Berlin (3:00 PM / 15:00 there).
LOCALES = [
    ("en-US", "America/New_York", "3:00 PM"),
    ("en-GB", "Europe/London", "15:00"),
    ("de-DE", "Europe/Berlin", "15:00"),
]
WIDTHS = [375, 768, 1280]
JOIN_URL = "https://teams.example.com/l/meetup-join/19%3ameeting_demo"
GERMAN_WEEKDAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag")


def _folder(name: str) -> Path:
    if os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1":
        folder = Path(settings.BASE_DIR) / "docs" / "screenshots"
    else:
        folder = Path(settings.VAR_DIR) / "screenshots" / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _weekdays_from(start: date, count: int) -> list[date]:
    days, day = [], start
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def _page_with_a_calendar(host):
    connection = CalendarConnection.objects.create(
        host=host, provider="office365", account_id="uid.tid", account_email="alice@contoso.com"
    )
    Calendar.objects.create(connection=connection, remote_id="A", name="Calendar", is_default=True)
    return page_create(
        host=host,
        fields={"title": "Intro call", "slug": "intro", "time_zone": "UTC"},
        hours=[(weekday, time(6), time(22)) for weekday in range(5)],
    )


def _outlook_made_the_meeting(email: str) -> None:
    booking = Booking.objects.get(invitee_email=email)
    PushedEvent.objects.filter(source=booking.mirror_source).update(online_meeting_url=JOIN_URL)


def test_the_booking_flow_reads_as_each_locale_at_every_width(
    transactional_db, host, live_server, chromium, settings
):
    settings.BOOKING_RATE_LIMIT = 0
    off_loop(lambda: _page_with_a_calendar(host))
    folder = _folder("test_the_booking_flow_reads_as_each_locale_at_every_width")
    days = iter(_weekdays_from(date.today() + timedelta(days=2), len(LOCALES) * len(WIDTHS)))
    for locale, zone, three_pm in LOCALES:
        for width in WIDTHS:
            day = next(days)
            shot = f"{locale}-{width}"
            context = chromium.new_context(
                viewport={"width": width, "height": 900}, locale=locale, timezone_id=zone
            )
            invitee = context.new_page()
            errors: list[str] = []
            invitee.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
            invitee.goto(f"{live_server.url}/book/intro/")
            expect(invitee.locator("html")).to_have_attribute("lang", locale[:2])
            invitee.locator("button.day.has-slots").first.wait_for()
            while not invitee.locator(f'button.day[data-date="{day.isoformat()}"]').count():
                invitee.click("#next-month")
                invitee.locator("button.day.has-slots").first.wait_for()
            heading = invitee.inner_text("#cal-heading")
            month = format_date(day, "LLLL", locale=locale.replace("-", "_"))
            assert month in heading, (heading, month)
            invitee.click(f'button.day[data-date="{day.isoformat()}"]')
            slot = invitee.locator("button.slot", has_text=re.compile(rf"^{three_pm}$"))
            expect(slot).to_have_count(1)
            times = invitee.locator("button.slot").all_inner_texts()
            if locale == "en-US":
                assert all(re.fullmatch(r"\d{1,2}:\d\d [AP]M", t) for t in times), times
            else:
                assert all(re.fullmatch(r"\d\d:\d\d", t) for t in times), times
            slot.scroll_into_view_if_needed()
            invitee.screenshot(path=str(folder / f"{shot}-1-times.png"), full_page=True)

            slot.click()
            expect(invitee.locator("#slots-section")).to_be_hidden()
            chosen = invitee.inner_text("#chosen-slot")
            full_day = format_date(day, "full", locale=locale.replace("-", "_"))
            assert full_day in chosen, (chosen, full_day)
            assert three_pm in chosen
            email = f"{locale.lower()}-{width}@example.com"
            invitee.fill("#f-name", "Priya Invitee")
            invitee.fill("#f-email", email)
            invitee.screenshot(path=str(folder / f"{shot}-2-details.png"), full_page=True)

            invitee.click("#book-button")
            expect(invitee.locator("#booking-when")).to_contain_text(full_day)
            expect(invitee.locator("#booking-when")).to_contain_text(three_pm)
            if locale == "de-DE":
                assert invitee.inner_text("#booking-when").startswith(GERMAN_WEEKDAYS)
                expect(invitee.locator("h1")).to_contain_text("Ihr Termin mit")
            # Outlook answers with the Teams link; the open page shows it without a reload.
            expect(invitee.locator("#join-waiting")).to_be_visible()
            off_loop(lambda email=email: _outlook_made_the_meeting(email))
            join = invitee.locator("#join-button")
            expect(join).to_have_attribute("href", JOIN_URL, timeout=10_000)
            invitee.screenshot(path=str(folder / f"{shot}-3-confirmation.png"), full_page=True)
            assert errors == []
            context.close()
