"""Booking emails leave through a real Celery worker, not inside the invitee's request."""

from __future__ import annotations

import re
from email.header import decode_header, make_header

import pytest
from django.core import mail

from tests.support.booking import at, book, workday
from tests.support.worker import wait_until

pytestmark = [pytest.mark.slow]


def test_the_worker_sends_the_invitee_and_the_host_their_confirmation(
    live_server, page, celery_worker
):
    import requests

    start = at(workday("Europe/London"), 11)
    response = requests.post(
        f"{live_server.url}/api/booking-pages/{page.slug}/bookings",
        json={
            "start": start.isoformat(),
            "name": "Dana Invitee",
            "email": "dana@example.com",
            "timezone": "Asia/Kolkata",
        },
        timeout=30,
    )
    assert response.status_code == 201, response.text
    assert mail.outbox == []  # nothing was sent inside the request

    def subjects() -> list[str]:
        """The Subject lines the console backend printed, decoded (a subject naming a
        zone with its dash and offset travels as an RFC 2047 encoded word)."""
        found = re.findall(r"^Subject: (.*(?:\n[ \t].*)*)", celery_worker.all_output(), re.M)
        return [str(make_header(decode_header(value))) for value in found]

    def both_sent() -> bool:
        return sum(s.startswith("Confirmed: Intro call with") for s in subjects()) == 2

    wait_until(both_sent, timeout=60, message="emails not sent:\n" + celery_worker.output())
    output = celery_worker.all_output()
    assert "To: dana@example.com" in output
    assert "To: alice@example.com" in output
    assert 'filename="invite.ics"' in output
    assert any("(UTC+5:30)" in s for s in subjects()), subjects()


def test_booking_still_answers_when_no_worker_runs(client, page):
    # With no worker the emails simply wait in the broker; the booking is made.
    response = book(client, page.slug, start=at(workday("Europe/London"), 15))
    assert response.status_code == 201
