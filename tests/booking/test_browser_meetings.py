"""Setup → Meetings in a real browser, with a real Celery worker and the Graph sandbox.

An invitee books through the public page; the host sees the meeting arrive in Upcoming
and its Office 365 state turn to "in your calendar", finds it by searching, exports the
filtered view, and cancels it with a reason: the invitee's email carries the reason, the
sandbox mailbox loses the event, and the time is offered again. Screenshots go to
``var/screenshots/test_a_booking_seen_found_exported_and_cancelled_by_the_host/``.
"""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import expect

from booking.services.bookings import Invitee, booking_create
from calendars.providers.office365 import msal_app
from tests.support.browser import log_in, off_loop
from tests.support.office365 import ADELE, connect_host, open_page
from tests.support.worker import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REASON = "Sorry, I have to be elsewhere that day"


def _our_events(control) -> list:
    events = off_loop(lambda: control.events(ADELE, calendar="Calendar"))
    return [e for e in events if e.transaction_id]


def _offered(base_url: str, day: str) -> set[datetime]:
    answer = requests.get(
        f"{base_url}/api/booking-pages/intro/slots",
        params={"start": day, "end": day, "tz": "Europe/London"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return {datetime.fromisoformat(slot["start"]) for slot in answer.json()["slots"]}


def test_a_booking_seen_found_exported_and_cancelled_by_the_host(
    live_server, graph_sandbox_server, client, host, chromium, screenshots, settings, worker_factory
):
    from graph_sandbox import control

    sandbox = graph_sandbox_server
    off_loop(lambda: client.force_login(host))
    off_loop(lambda: connect_host(client, sandbox))
    settings.SITE_URL = live_server.url
    settings.BOOKING_RATE_LIMIT = 0
    off_loop(lambda: sandbox.set_pages_url(live_server.url))
    msal_app._HTTP_CACHE.clear()
    page = off_loop(lambda: open_page(host, duration_minutes=30, increment_minutes=30))
    worker = worker_factory(**sandbox.worker_env(), SITE_URL=live_server.url)
    shots = screenshots
    london = ZoneInfo("Europe/London")
    day = (datetime.now(london) + timedelta(days=2)).date()

    free = sorted(_offered(live_server.url, day.isoformat()))
    # Someone else's booking the same day: search and export must leave it out.
    off_loop(
        lambda: booking_create(
            page=page,
            start=free[0].astimezone(UTC),
            invitee=Invitee("Other Person", "other@example.com", "Europe/London"),
        )
    )

    # The invitee books the day's last free time from Kolkata through the public page.
    local = free[-1].astimezone(ZoneInfo("Asia/Kolkata"))
    invitee = chromium.new_context(timezone_id="Asia/Kolkata", locale="en-GB").new_page()
    invitee.goto(f"{live_server.url}/book/intro/")
    invitee.wait_for_selector("button.day.has-slots")
    if not invitee.locator(f'button.day[data-date="{local.date().isoformat()}"]').count():
        invitee.click("#next-month")
    invitee.click(f'button.day.has-slots[data-date="{local.date().isoformat()}"]')
    invitee.locator("button.slot", has_text=f"{local:%H:%M}").first.click()
    invitee.fill("#f-name", "Zoë Ådler")
    invitee.fill("#f-email", "zoe@example.com")
    invitee.click("#book-button")
    expect(invitee.get_by_role("link", name="Cancel meeting")).to_be_visible(timeout=30_000)
    shots.take(invitee, "booked")
    start = free[-1]

    # The host logs in and lands on Meetings; the event reaches Outlook.
    browser = chromium.new_context(viewport={"width": 1280, "height": 900}, timezone_id="UTC")
    setup = browser.new_page()
    log_in(setup, live_server.url, host.email)
    expect(setup.get_by_role("heading", name="Meetings")).to_be_visible()
    row = setup.locator("tr", has_text="Zoë Ådler")
    expect(row).to_be_visible()
    expect(row).to_contain_text("for them (India Time \u2014 Kolkata (UTC+5:30))")
    shots.take(setup, "upcoming")
    deadline = time.monotonic() + 60
    while not row.locator('[data-calendar-state="in_calendar"]').count():
        assert time.monotonic() < deadline, worker.output()
        time.sleep(1)
        setup.reload()
    expect(row).to_contain_text("in your calendar")
    expect(row.get_by_role("link", name="Join Teams meeting")).to_be_visible()
    shots.take(setup, "in-your-calendar")
    assert len(_our_events(control)) == 2

    # Search finds it, without accents; the filtered view is in the URL and the export.
    setup.get_by_label("Search").fill("zoe adler")
    setup.get_by_role("button", name="Show").click()
    expect(setup.locator("tr[data-meeting]")).to_have_count(1)
    expect(setup.locator("tr[data-meeting]")).to_contain_text("zoe@example.com")
    assert "q=zoe+adler" in setup.url
    shots.take(setup, "searched")
    shown = setup.locator("tr[data-meeting] .invitee-name").all_inner_texts()
    href = setup.get_by_test_id("export").get_attribute("href")
    export = setup.request.get(live_server.url + href)
    assert export.status == 200
    rows = list(csv.reader(io.StringIO(export.text())))
    assert [line[3] for line in rows[1:]] == shown == ["Zoë Ådler"]

    # Cancel with a reason.
    setup.locator("tr[data-meeting] .invitee-name").click()
    expect(setup.get_by_role("heading", name="Intro call with Zoë Ådler")).to_be_visible()
    setup.get_by_role("link", name="Cancel meeting").click()
    setup.get_by_label("Reason (optional, sent to the invitee)").fill(REASON)
    shots.take(setup, "cancel")
    setup.get_by_role("button", name="Cancel meeting").click()
    expect(setup.get_by_text("Cancelled. Zoë Ådler gets an email")).to_be_visible()
    shots.take(setup, "cancelled")

    # The invitee's email carries the reason; Outlook loses the event; the time is free.
    def invitee_told() -> bool:
        output = worker.all_output()
        return "To: zoe@example.com" in output and f"Reason: {REASON}" in output

    wait_until(invitee_told, timeout=60, message=worker.output())
    wait_until(lambda: len(_our_events(control)) == 1, timeout=60, message=worker.output())
    assert start in _offered(live_server.url, day.isoformat())
    setup.reload()
    expect(setup.locator('[data-calendar-state="removed"]')).to_be_visible(timeout=30_000)
    setup.goto(f"{live_server.url}/setup/meetings/?tab=cancelled")
    expect(setup.locator("tr[data-meeting]")).to_contain_text("Zoë Ådler")
    shots.take(setup, "cancelled-tab")
    browser.close()
