"""No double booking, ever: invitees racing for one slot through the real HTTP API."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
import requests

from booking.models import Booking
from tests.support.booking import at, workday

pytestmark = pytest.mark.slow


def _race(live_server, slug: str, start, attempts: int) -> Counter:
    url = f"{live_server.url}/api/booking-pages/{slug}/bookings"
    barrier = threading.Barrier(attempts)
    statuses: list[int] = []

    def attempt(number: int) -> None:
        body = {
            "start": start.isoformat(),
            "name": f"Invitee {number}",
            "email": f"invitee{number}@example.com",
            "timezone": "Europe/Berlin",
        }
        barrier.wait()
        statuses.append(requests.post(url, json=body, timeout=60).status_code)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    return Counter(statuses)


@pytest.mark.postgres
def test_fifty_invitees_racing_for_one_slot_on_postgresql(
    transactional_db, live_server, settings, page
):
    settings.BOOKING_RATE_LIMIT = 0  # 50 posts from one address must all reach the lock
    start = at(workday("Europe/London"), 10)
    assert _race(live_server, page.slug, start, 50) == Counter({201: 1, 409: 49})
    assert Booking.objects.filter(start=start).count() == 1


def test_racing_invitees_get_one_booking_on_any_database(
    transactional_db, live_server, settings, page
):
    settings.BOOKING_RATE_LIMIT = 0
    start = at(workday("Europe/London"), 11)
    assert _race(live_server, page.slug, start, 10) == Counter({201: 1, 409: 9})
    assert Booking.objects.count() == 1
