"""Why a booking or a move was refused is said in the invitee's language.

A German invitee who picks a time someone just took, or opens the link of a booking
that was cancelled meanwhile, reads why in German: on the reschedule page (which
speaks the booking's language) and in the booking API's answer to the page's own
script (which sends the page's ``locale``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.booking import at, book, workday

pytestmark = pytest.mark.django_db


def _alert(response) -> str:
    return response.content.decode()


def test_the_reschedule_page_says_why_in_german(client, page):
    day = workday("Europe/London")
    body = book(client, page.slug, start=at(day, 10), locale="de-DE").json()
    book(client, page.slug, start=at(day, 11), email="eve@example.com", locale="de-DE")

    taken = client.post(body["reschedule_url"], {"start": at(day, 11).isoformat()})
    assert taken.status_code == 409
    assert "Diese Zeit wurde leider gerade vergeben." in _alert(taken)
    assert "just taken" not in _alert(taken)

    garbage = client.post(body["reschedule_url"], {"start": "garbage"})
    assert garbage.status_code == 400
    assert "Pick one of the free times below." not in _alert(garbage)

    client.post(body["cancel_url"], {"reason": ""})
    cancelled = client.post(body["reschedule_url"], {"start": at(day, 12).isoformat()})
    assert cancelled.status_code == 400
    assert "This booking was cancelled." not in _alert(cancelled)


def test_the_booking_api_answers_in_the_language_the_page_books_in(client, page):
    day = workday("Europe/London")
    assert book(client, page.slug, start=at(day, 10)).status_code == 201

    taken = book(client, page.slug, start=at(day, 10), email="eve@example.com", locale="de-DE")
    assert taken.status_code == 409
    assert taken.json()["message"].startswith("Diese Zeit wurde leider gerade vergeben.")

    too_soon = book(
        client, page.slug, start=datetime.now(UTC) + timedelta(minutes=5), locale="de-DE"
    )
    assert too_soon.status_code == 400
    assert "1 Stunde" in too_soon.json()["message"]

    fields = book(client, page.slug, start=at(day, 11), email="nope", locale="de-DE")
    assert fields.status_code == 400
    assert fields.json()["message"] != "Check the highlighted fields."

    # Without a locale the request's language still decides; English stays English.
    english = book(client, page.slug, start=at(day, 10), email="eve@example.com")
    assert english.json()["message"].startswith("Sorry, that time was just taken.")
