"""Team pages under a rush: invitees racing through the real HTTP API on PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
import requests

from booking.models import Booking, BookingCohost
from tests.support.booking import at, workday
from tests.teams.conftest import make_team_page

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def _race(live_server, slugs: list[str], start, attempts: int) -> Counter:
    """``attempts`` invitees at once, spread over ``slugs`` in turn."""
    barrier = threading.Barrier(attempts)
    statuses: list[int] = []

    def attempt(number: int) -> None:
        slug = slugs[number % len(slugs)]
        body = {
            "start": start.isoformat(),
            "name": f"Invitee {number}",
            "email": f"invitee{number}@example.com",
            "timezone": "Europe/Berlin",
        }
        barrier.wait()
        url = f"{live_server.url}/api/booking-pages/{slug}/bookings"
        statuses.append(requests.post(url, json=body, timeout=90).status_code)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return Counter(statuses)


def test_fifty_invitees_on_a_round_robin_page_of_three_get_three_bookings_one_each(
    transactional_db, live_server, settings, org, host, teammate
):
    settings.BOOKING_RATE_LIMIT = 0
    _, carol = org
    make_team_page(
        org=org, admin=host, kind="round_robin", users=[host, teammate, carol], slug="rr"
    )
    start = at(workday("Europe/London"), 10)
    assert _race(live_server, ["rr"], start, 50) == Counter({201: 3, 409: 47})
    hosts = sorted(Booking.objects.filter(start=start).values_list("host_id", flat=True))
    assert hosts == sorted([host.pk, teammate.pk, carol.pk])


def test_fifty_invitees_on_a_collective_page_get_exactly_one_meeting(
    transactional_db, live_server, settings, org, host, teammate
):
    settings.BOOKING_RATE_LIMIT = 0
    _, carol = org
    make_team_page(
        org=org, admin=host, kind="collective", users=[host, teammate, carol], slug="all"
    )
    start = at(workday("Europe/London"), 11)
    assert _race(live_server, ["all"], start, 50) == Counter({201: 1, 409: 49})
    assert Booking.objects.filter(start=start).count() == 1
    assert BookingCohost.objects.count() == 2


def test_personal_and_team_pages_racing_for_one_member_give_them_one_meeting(
    transactional_db, live_server, settings, org, host, teammate
):
    """Carol's own page, a collective page with her and Bob, and a round-robin page of
    Carol alone, all at once: she ends up in exactly one meeting."""
    from booking.services.pages import page_create

    settings.BOOKING_RATE_LIMIT = 0
    _, carol = org
    page_create(host=carol, fields={"title": "Carol's", "slug": "carol"})
    make_team_page(org=org, admin=host, kind="collective", users=[carol, teammate], slug="pair")
    make_team_page(org=org, admin=host, kind="round_robin", users=[carol], slug="solo")
    start = at(workday("Europe/London"), 12)
    assert _race(live_server, ["carol", "pair", "solo"], start, 30) == Counter({201: 1, 409: 29})
    with_carol = Booking.objects.filter(start=start, host=carol).count()
    with_carol += BookingCohost.objects.filter(user=carol, booking__start=start).count()
    assert with_carol == 1
