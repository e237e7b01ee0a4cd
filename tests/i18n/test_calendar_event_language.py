"""The event a booking puts in the host's Outlook calendar is worded in the host's
language (their Profile language), whatever language the invitee booked in."""

from __future__ import annotations

import pytest

from booking.models import Booking, LocationKind
from booking.services.calendar_events import booking_event
from tests.support.booking import at, book, workday


def _booking(client, page, *, accept_language: str) -> Booking:
    start = at(workday("Europe/London", days_ahead=3), 14)
    answer = book(client, page.slug, start=start, HTTP_ACCEPT_LANGUAGE=accept_language)
    assert answer.status_code == 201
    return Booking.objects.select_related("host", "page").get()


@pytest.mark.django_db
def test_an_english_hosts_event_reads_in_english_after_a_german_invitee_booked(client, page):
    page.location_kind = LocationKind.PHONE
    page.location_details = "+49 30 1234567"
    page.save(update_fields=["location_kind", "location_details"])
    event = booking_event(booking=_booking(client, page, accept_language="de-DE,de;q=0.9"))
    assert event.subject.endswith(" with Dana Invitee")
    assert event.location == "Phone call: +49 30 1234567"
    assert event.body_text.startswith("Booked by Dana Invitee <dana@example.com>")
    assert "\nCancel: http" in event.body_text
    assert "\nReschedule: http" in event.body_text


@pytest.mark.django_db
def test_a_german_hosts_event_reads_in_german(client, page, host):
    host.language = "de"
    host.save(update_fields=["language"])
    page.location_kind = LocationKind.PHONE
    page.location_details = "+49 30 1234567"
    page.save(update_fields=["location_kind", "location_details"])
    event = booking_event(booking=_booking(client, page, accept_language="en"))
    assert event.subject.endswith(" mit Dana Invitee")
    assert event.location == "Telefonat: +49 30 1234567"
    assert event.body_text.startswith("Gebucht von Dana Invitee <dana@example.com>")
    assert "\nAbsagen: http" in event.body_text
    assert "\nVerschieben: http" in event.body_text
