"""The reminder dropdown by keyboard: arrowing through the options does not save each one."""

from __future__ import annotations

import pytest

from calendars.models import CalendarConnection, ConnectionStatus
from tests.support.browser import log_in, off_loop

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_arrow_keys_browse_the_reminders_and_enter_saves(
    transactional_db, host, live_server, chromium, screenshots
):
    off_loop(
        lambda: CalendarConnection.objects.create(
            host=host,
            provider="office365",
            account_id="uid.tid",
            account_email="alice@contoso.com",
            status=ConnectionStatus.CONNECTED,
            default_reminder_minutes=15,
        )
    )
    page = chromium.new_context().new_page()
    log_in(page, live_server.url, host.email)
    page.goto(f"{live_server.url}/setup/integration/calendar/")
    reminder = page.get_by_label("Default reminder for Office 365 events")
    save = page.get_by_role("button", name="Save reminder")
    assert save.is_hidden()

    reminder.focus()
    page.keyboard.press("ArrowDown")  # 30 minutes
    page.keyboard.press("ArrowDown")  # 1 hour
    screenshots.take(page, "browsed-by-keyboard")
    assert reminder.evaluate("select => document.activeElement === select")
    assert save.is_visible()
    assert off_loop(lambda: CalendarConnection.objects.get().default_reminder_minutes) == 15

    page.keyboard.press("Enter")
    page.get_by_text("Default reminder saved: 1 hour.").wait_for()
    screenshots.take(page, "saved")
    assert off_loop(lambda: CalendarConnection.objects.get().default_reminder_minutes) == 60
