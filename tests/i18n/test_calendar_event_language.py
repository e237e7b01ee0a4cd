"""The event a booking puts in the host's Outlook calendar is worded in the host's
language (their Profile language), whatever language the invitee booked in."""

from __future__ import annotations

import pytest

from booking.models import Booking, LocationKind
from booking.services.calendar_events import booking_event
from tests.support.booking import at, book, workday

ENGLISH = {
    "with": " with Dana Invitee",
    "location": "Phone call: +49 30 1234567",
    "booked_by": "Booked by Dana Invitee <dana@example.com>",
    "links": ("\nCancel: http", "\nReschedule: http"),
}
GERMAN = {
    "with": " mit Dana Invitee",
    "location": "Telefonat: +49 30 1234567",
    "booked_by": "Gebucht von Dana Invitee <dana@example.com>",
    "links": ("\nAbsagen: http", "\nVerschieben: http"),
}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("host_language", "invitee_language", "words"),
    [("", "de-DE,de;q=0.9", ENGLISH), ("de", "en", GERMAN)],
    ids=["english-host-german-invitee", "german-host-english-invitee"],
)
def test_the_hosts_event_reads_in_the_hosts_language(
    client, page, host, host_language, invitee_language, words
):
    host.language = host_language
    host.save(update_fields=["language"])
    page.location_kind = LocationKind.PHONE
    page.location_details = "+49 30 1234567"
    page.save(update_fields=["location_kind", "location_details"])
    start = at(workday("Europe/London", days_ahead=3), 14)
    answer = book(client, page.slug, start=start, HTTP_ACCEPT_LANGUAGE=invitee_language)
    assert answer.status_code == 201
    event = booking_event(booking=Booking.objects.select_related("host", "page").get())
    assert event.subject.endswith(words["with"])
    assert event.location == words["location"]
    assert event.body_text.startswith(words["booked_by"])
    for line in words["links"]:
        assert line in event.body_text
