"""A booking's location reads in its reader's language: a booking a German invitee made
shows "Microsoft Teams meeting" to an English host in Setup and in the host's email, and
"Microsoft-Teams-Besprechung" to the invitee; a booking older than the stored facts shows
its text as kept."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from booking.models import Booking, LocationKind
from tests.support.booking import at, book, workday

ENGLISH = "Microsoft Teams meeting (the link is in the calendar invitation)"
GERMAN = "Microsoft-Teams-Besprechung (der Link steht in der Kalendereinladung)"


def _german_booking(client, page, capture) -> Booking:
    start = at(workday("Europe/London", days_ahead=3), 14)
    with capture(execute=True):
        answer = book(client, page.slug, start=start, HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    assert answer.status_code == 201
    return Booking.objects.get()


@pytest.mark.usefixtures("email_tasks_in_process")
def test_a_german_invitees_teams_booking_reads_in_english_to_an_english_host(
    client, page, host, django_capture_on_commit_callbacks
):
    booking = _german_booking(client, page, django_capture_on_commit_callbacks)
    assert booking.location_kind == LocationKind.TEAMS
    sent = {message.to[0]: message for message in mail.outbox}
    assert GERMAN in sent["dana@example.com"].body
    assert ENGLISH in sent["alice@example.com"].body
    assert GERMAN not in sent["alice@example.com"].body
    client.force_login(host)
    for url in (reverse("meetings:list"), reverse("meetings:detail", args=[booking.pk])):
        text = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "Microsoft-Teams-Besprechung" not in text


@pytest.mark.usefixtures("email_tasks_in_process")
def test_a_phone_booking_keeps_its_number_and_words_its_label_per_reader(
    client, page, host, django_capture_on_commit_callbacks
):
    page.location_kind = LocationKind.PHONE
    page.location_details = "+49 30 1234567"
    page.save(update_fields=["location_kind", "location_details"])
    booking = _german_booking(client, page, django_capture_on_commit_callbacks)
    sent = {message.to[0]: message for message in mail.outbox}
    assert "Telefonat: +49 30 1234567" in sent["dana@example.com"].body
    assert "Phone call: +49 30 1234567" in sent["alice@example.com"].body
    client.force_login(host)
    detail = client.get(reverse("meetings:detail", args=[booking.pk])).content.decode()
    assert "Phone call: +49 30 1234567" in detail
    # The page's location changing later leaves the booking's as it was.
    page.location_details = "+49 30 7654321"
    page.save(update_fields=["location_details"])
    booking.refresh_from_db()
    assert booking.location_text == "Phone call: +49 30 1234567"


@pytest.mark.django_db
def test_a_booking_older_than_the_facts_shows_its_text_as_kept(client, page, host):
    start = at(workday("Europe/London", days_ahead=3), 14)
    assert book(client, page.slug, start=start).status_code == 201
    Booking.objects.update(location_kind="", location_details="", location=GERMAN)
    booking = Booking.objects.get()
    assert booking.location_text == GERMAN
    client.force_login(host)
    detail = client.get(reverse("meetings:detail", args=[booking.pk])).content.decode()
    assert GERMAN in detail
