"""No double booking, ever: invitees racing for one slot through the real HTTP API."""

from __future__ import annotations

import threading
from collections import Counter
from itertools import pairwise

import pytest
import requests

from booking.models import Booking
from booking.services.pages import page_create
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


def test_moves_and_a_new_booking_racing_for_overlapping_times_leave_one_winner(
    transactional_db, live_server, settings, host
):
    """Dana moves her 60-minute 10:00 meeting to 10:30 (onto her own old time), Eve moves
    hers to 11:00 and Fay books 11:00, all at once: the three times overlap each other,
    so exactly one gets through, and no two meetings ever overlap."""
    settings.BOOKING_RATE_LIMIT = 0
    page = page_create(host=host, fields={"title": "Hour", "slug": "hour", "duration_minutes": 60})
    day = workday("Europe/London")
    dana, eve = (
        requests.post(
            f"{live_server.url}/api/booking-pages/hour/bookings",
            json={
                "start": start.isoformat(),
                "name": name,
                "email": f"{name}@example.com",
                "timezone": "Europe/London",
            },
            timeout=60,
        ).json()
        for name, start in (("dana", at(day, 10)), ("eve", at(day, 14)))
    )
    barrier = threading.Barrier(3)
    statuses: list[int] = []

    def move(link: str, start) -> None:
        session = requests.Session()
        session.get(link, timeout=60)  # the form's CSRF cookie
        barrier.wait()
        answer = session.post(
            link,
            data={"start": start.isoformat(), "csrfmiddlewaretoken": session.cookies["csrftoken"]},
            allow_redirects=False,
            timeout=60,
        )
        statuses.append(answer.status_code)

    def book_new() -> None:
        body = {
            "start": at(day, 11).isoformat(),
            "name": "Fay",
            "email": "fay@example.com",
            "timezone": "Europe/London",
        }
        barrier.wait()
        url = f"{live_server.url}/api/booking-pages/hour/bookings"
        statuses.append(requests.post(url, json=body, timeout=60).status_code)

    threads = [
        threading.Thread(target=move, args=(dana["reschedule_url"], at(day, 10, 30))),
        threading.Thread(target=move, args=(eve["reschedule_url"], at(day, 11))),
        threading.Thread(target=book_new),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)

    winners = [status for status in statuses if status != 409]
    assert len(statuses) == 3
    assert winners in ([201], [302])  # one booking made (201) or one moved (302 to its page)
    meetings = sorted(Booking.objects.filter(page=page).values_list("start", "end"))
    assert len(meetings) == (3 if winners == [201] else 2)
    for (_, end), (start, _) in pairwise(meetings):
        assert end <= start
