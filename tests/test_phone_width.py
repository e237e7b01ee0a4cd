"""On a 360-pixel phone, no page scrolls sideways, even with long unbroken text.

Hosts paste links into descriptions and locations; invitees type long names. A word
wider than the screen must wrap instead of pushing the layout off the side.
"""

from __future__ import annotations

import pytest

from booking.services.bookings import Invitee, booking_create
from booking.services.pages import page_create
from booking.tokens import booking_paths
from tests.support.booking import at, workday
from tests.support.browser import log_in, off_loop

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LONG_LINK = "https://maps.example.com/?q=" + "ConferenceCentreMainStreet" * 8


def _alices_page_and_booking(host):
    page = page_create(
        host=host,
        fields={
            "title": "Onboarding-session-for-new-enterprise-customers-2026",
            "slug": "onboarding",
            "description": f"Directions: {LONG_LINK}",
            "location_kind": "in_person",
            "location_details": LONG_LINK[:300],
        },
    )
    booking = booking_create(
        page=page,
        start=at(workday("Europe/London"), 10),
        invitee=Invitee(
            name="MaximilianAlexander" * 7, email="max@example.com", time_zone="Asia/Kolkata"
        ),
    )
    return page.pk, booking_paths(booking)


def test_no_page_scrolls_sideways_on_a_phone(
    transactional_db, host, live_server, chromium, screenshots
):
    page_pk, links = off_loop(lambda: _alices_page_and_booking(host))
    phone = chromium.new_context(viewport={"width": 360, "height": 740}).new_page()
    base = live_server.url

    def check(step: str, path: str) -> None:
        phone.goto(base + path)
        screenshots.take(phone, step)
        widths = phone.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"{path} is {widths[0]}px wide on a {widths[1]}px screen"

    check("booking-page", "/book/onboarding/")
    check("confirmation", links["manage"])
    check("cancel", links["cancel"])
    check("reschedule", links["reschedule"])

    log_in(phone, base, host.email)
    check("page-list", "/setup/booking-pages/")
    check("page-editor", f"/setup/booking-pages/{page_pk}/")
    check("page-calendars", f"/setup/booking-pages/{page_pk}/calendars/")


def test_team_members_are_cards_on_a_phone(transactional_db, host, live_server, chromium):
    # Five columns on a 375-pixel phone were about 60 pixels each: "Buchungsseiten" and
    # every email broke a letter or two a line. Like Meetings, each member is a card.
    from accounts.services import organization_create_for

    off_loop(lambda: organization_create_for(user=host, name="Contoso"))
    phone = chromium.new_context(viewport={"width": 375, "height": 740}, locale="de-DE").new_page()
    log_in(phone, live_server.url, host.email)
    phone.goto(live_server.url + "/setup/team/")
    cell = phone.locator("#members tbody td").first
    assert cell.bounding_box()["width"] > 250
    assert host.email in cell.inner_text().replace("\n", "")


def test_a_team_pages_member_rows_fit_a_phone(transactional_db, host, live_server, chromium):
    # Three columns in the fieldset on a 375-pixel phone: the priority and weight fields
    # were about 30 pixels wide ("0" showed as "C"), "Priorität" broke into "Prio/rität",
    # and the table ran out of its fieldset. Each member is a card with labelled fields.
    from accounts.services import organization_create_for

    off_loop(lambda: organization_create_for(user=host, name="Contoso"))
    phone = chromium.new_context(viewport={"width": 375, "height": 740}, locale="de-DE").new_page()
    log_in(phone, live_server.url, host.email)
    phone.goto(live_server.url + "/setup/team/pages/new/")
    priority = phone.locator("input[name^=priority_]").first
    assert priority.bounding_box()["width"] >= 60
    cell = phone.locator("table.seats td[data-label]").first
    assert cell.evaluate("td => getComputedStyle(td, '::before').content") == '"Priorität: "'
    table = phone.locator("table.seats").bounding_box()
    fieldset = phone.locator("table.seats").locator("xpath=..").bounding_box()
    assert table["x"] + table["width"] <= fieldset["x"] + fieldset["width"]


def test_webhook_deliveries_are_cards_on_a_phone(transactional_db, host, live_server, chromium):
    # Seven columns on a 375-pixel phone broke "Versuche" into "Ver/suc/he" and a
    # delivery's state a few letters a line. Each delivery is a card; values say what
    # they are.
    from datetime import timedelta

    from django.utils import timezone

    from integrations.models import WebhookDelivery, WebhookEndpoint

    def endpoint_with_a_delivery() -> int:
        endpoint = WebhookEndpoint.objects.create(
            owner=host,
            url="https://hooks.alice.example/in",
            events=["booking.confirmed"],
            secret_encrypted="not-a-real-ciphertext",
        )
        WebhookDelivery.objects.create(
            endpoint=endpoint,
            event_type="webhook.test",
            body="{}",
            order_key="test:1",
            retry_until=timezone.now() + timedelta(days=1),
            state="delivered",
            attempts=1,
            response_status=204,
            response_ms=26,
        )
        return endpoint.pk

    pk = off_loop(endpoint_with_a_delivery)
    phone = chromium.new_context(viewport={"width": 375, "height": 740}, locale="de-DE").new_page()
    log_in(phone, live_server.url, host.email)
    phone.goto(f"{live_server.url}/setup/integration/webhooks/{pk}/")
    state = phone.locator("#deliveries [data-testid=delivery-state]")
    assert state.bounding_box()["width"] > 250
    assert state.inner_text() == "Zugestellt"
    labels = phone.locator("#deliveries td").evaluate_all(
        "cells => cells.map(c => getComputedStyle(c, '::before').content)"
    )
    assert labels[:5] == ['"Status: "', '"Versuche: "', '"Antwort: "', '"Latenz: "', '"Erstellt: "']


def test_a_meetings_calendar_events_are_cards_on_a_phone(
    transactional_db, host, live_server, chromium
):
    # Five columns at 375 pixels broke "Calendar (alice@contoso.com)" and the state a
    # few letters a line on the meeting's page.
    from calendars.models import Calendar, CalendarConnection, PushedEvent
    from tests.support.meetings import meeting, tomorrow_ten

    def a_pushed_meeting() -> int:
        page = page_create(host=host, fields={"title": "Intro", "slug": "intro"})
        booking = meeting(page, tomorrow_ten())
        connection = CalendarConnection.objects.create(
            host=host, provider="office365", account_id="a", account_email="alice@contoso.com"
        )
        calendar = Calendar.objects.create(connection=connection, remote_id="A", name="Calendar")
        PushedEvent.objects.create(
            host=host, calendar=calendar, source=booking.mirror_source, payload={}, state="synced"
        )
        return booking.pk

    pk = off_loop(a_pushed_meeting)
    phone = chromium.new_context(viewport={"width": 375, "height": 740}, locale="de-DE").new_page()
    log_in(phone, live_server.url, host.email)
    phone.goto(f"{live_server.url}/setup/meetings/{pk}/")
    cells = phone.locator("#pushes td")
    assert cells.first.bounding_box()["width"] > 250
    labels = cells.evaluate_all("cells => cells.map(c => getComputedStyle(c, '::before').content)")
    assert labels == [
        '"Kalender: "',
        '"Zustand: "',
        '"Versuche: "',
        '"Letzte Änderung: "',
        '"Letzter Fehler: "',
    ]
