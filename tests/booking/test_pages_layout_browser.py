"""Setup → Booking pages (the list and the page editor) and Setup → Integration →
Calendar integration lay out cleanly in German and English, on a phone (375 pixels) and
a desktop (1280): no word broken across lines, no sideways scroll, and the list's table
becomes labelled cards on a phone."""

from __future__ import annotations

import pytest

from tests.support.browser import broken_words, log_in, off_loop

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LANGUAGES = {"de": "de-DE", "en": "en-GB"}


def _host_with_pages(host) -> int:
    """Alice with two pages (one switched off, German titles as long as real ones) and
    Office 365 connected under a tenant's long address; the first page's id."""
    from booking.services.pages import page_create, page_set_active
    from calendars.events import EventDescription
    from calendars.models import PushedEvent, PushState
    from tests.teams.conftest import connect

    calendar = connect(host, "alice.kundenberatung@contosoberatung.onmicrosoft.com")
    # A booking Office 365 would not take: Calendar integration lists it in a table.
    PushedEvent.objects.create(
        host=host,
        calendar=calendar,
        source="booking:quartal",
        payload=EventDescription.from_json(
            {
                "subject": "Quartalsbesprechung mit Mustermann GmbH",
                "start": "2026-12-01T09:00:00+00:00",
                "end": "2026-12-01T09:30:00+00:00",
                "time_zone": "UTC",
            }
        ).to_json(),
        state=PushState.FAILED,
        last_error="ErrorAccessDenied: Zugriff verweigert",
    )
    first = page_create(host=host, fields={"title": "Quartalsbesprechung", "slug": "quartal"})
    second = page_create(
        host=host, fields={"title": "Erstgespräch mit Neukunden", "slug": "erstgespraech"}
    )
    page_set_active(page=second, active=False)
    return first.pk


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize("width", [375, 1280])
def test_booking_pages_and_calendar_integration_keep_their_words_whole(
    transactional_db, host, live_server, chromium, language, width
):
    # At 375 pixels "Aktiv"/"Active" and "Quartalsbesprechung" broke inside the word in
    # the pages' list, and the account address broke anywhere on Calendar integration.
    first = off_loop(lambda: _host_with_pages(host))
    context = chromium.new_context(
        viewport={"width": width, "height": 900}, locale=LANGUAGES[language]
    )
    page = context.new_page()
    log_in(page, live_server.url, host.email)
    for path in (
        "/setup/booking-pages/",
        f"/setup/booking-pages/{first}/",
        "/setup/integration/calendar/",
    ):
        page.goto(live_server.url + path)
        assert page.locator("main").count() == 1, path
        assert broken_words(page, "main") == [], path
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], path
        if width == 375:
            # A table's rows are cards whose cells say what they are.
            for cell in page.locator("main table tbody td").all():
                if cell.locator("button").count() == 0 and cell.inner_text().strip():
                    label = cell.evaluate("c => getComputedStyle(c, '::before').content")
                    assert label not in ("none", "normal", '""'), cell.inner_text()
