"""A move reads what it can before the host's lock, as a new booking does; under the lock
the slot is still checked again, so no two moves ever get one time. A cancel looks for
webhook endpoints before the lock too."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
import requests
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from booking.events import Actor
from booking.models import Booking, BookingPage
from booking.services import bookings
from booking.services.bookings import (
    Invitee,
    PageClosed,
    booking_cancel,
    booking_create,
    booking_reschedule,
)
from booking.services.pages import page_create
from booking.tokens import booking_paths
from calendars.models import PushedEvent
from tests.support.booking import at, workday

INVITEE = Invitee(name="Dana", email="dana@example.com", time_zone="Asia/Kolkata")
HOST_LOCK = 'AS "pk" FROM "accounts_user"'  # booking.services.locking.host_lock
# What a move can read before the lock: the page's rules and calendars, the busy time,
# the webhook endpoints.
READ_AHEAD = (
    '"booking_weeklyhours"',
    '"booking_dateoverride"',
    '"booking_pagecalendar"',
    '"calendars_busyinterval"',
    '"integrations_webhookendpoint"',
)


def _after_lock(captured) -> list[str]:
    sqls = [query["sql"] for query in captured.captured_queries]
    locked = next(n for n, sql in enumerate(sqls) if HOST_LOCK in sql)
    return sqls[locked:]


@pytest.mark.django_db
def test_a_move_reads_rules_calendars_busy_time_and_endpoints_before_the_lock(
    page, host, calendars
):
    day = workday("Europe/London")
    booking = booking_create(page=page, start=at(day, 10), invitee=INVITEE)
    [row] = PushedEvent.objects.filter(source=booking.mirror_source)

    with CaptureQueriesContext(connection) as captured:
        moved = booking_reschedule(booking=booking, start=at(day, 11))

    under_lock = _after_lock(captured)
    assert [sql[:80] for sql in under_lock if any(t in sql for t in READ_AHEAD)] == []
    assert (moved.start, moved.sequence) == (at(day, 11), 1)
    moved_row = PushedEvent.objects.get(pk=row.pk)
    assert moved_row.version == row.version + 1
    assert moved_row.payload["start"].startswith(at(day, 11).isoformat()[:16])


@pytest.mark.django_db
def test_a_cancel_looks_for_webhook_endpoints_before_the_lock(page, host):
    day = workday("Europe/London")
    booking = booking_create(page=page, start=at(day, 10), invitee=INVITEE)
    with CaptureQueriesContext(connection) as captured:
        booking_cancel(booking=booking, actor=Actor.INVITEE)
    endpoints = '"integrations_webhookendpoint"'
    assert not any(endpoints in sql for sql in _after_lock(captured))
    assert Booking.objects.get(pk=booking.pk).status == "cancelled"


@pytest.mark.django_db
def test_a_page_edited_while_the_move_waits_is_read_again_under_the_lock(page, host, monkeypatch):
    day = workday("Europe/London")
    booking = booking_create(page=page, start=at(day, 10), invitee=INVITEE)
    real_lock = bookings.host_lock

    def lock_after_an_edit(host_id: int) -> None:
        BookingPage.objects.filter(pk=page.pk).update(
            duration_minutes=60, updated_at=timezone.now()
        )
        real_lock(host_id)

    monkeypatch.setattr(bookings, "host_lock", lock_after_an_edit)
    moved = booking_reschedule(booking=booking, start=at(day, 11))
    assert moved.end == at(day, 12)  # the page's new length


@pytest.mark.django_db
def test_a_page_closed_while_the_move_waits_refuses_it(page, host, monkeypatch):
    day = workday("Europe/London")
    booking = booking_create(page=page, start=at(day, 10), invitee=INVITEE)
    real_lock = bookings.host_lock

    def lock_after_closing(host_id: int) -> None:
        BookingPage.objects.filter(pk=page.pk).update(is_active=False, updated_at=timezone.now())
        real_lock(host_id)

    monkeypatch.setattr(bookings, "host_lock", lock_after_closing)
    with pytest.raises(PageClosed):
        booking_reschedule(booking=booking, start=at(day, 11))
    assert Booking.objects.get(pk=booking.pk).start == at(day, 10)


@pytest.mark.slow
@pytest.mark.postgres
def test_fifty_invitees_moving_into_one_slot_on_postgresql(
    transactional_db, live_server, settings, host
):
    """Fifty bookings on two days, each invitee moving theirs to the same free time at once
    through their reschedule link: one move, 49 refusals, one meeting at that time."""
    settings.BOOKING_RATE_LIMIT = 0
    page = page_create(
        host=host,
        fields={"title": "Quick", "slug": "quick", "duration_minutes": 15, "increment_minutes": 15},
    )
    first = workday("Europe/London")
    second = first + timedelta(days=1 if first.weekday() < 4 else 3)
    starts = [at(day, 9) + timedelta(minutes=15 * n) for day in (first, second) for n in range(25)]
    links = [
        bookings.booking_create(page=page, start=start, invitee=INVITEE).pk for start in starts
    ]
    urls = [
        live_server.url + booking_paths(Booking.objects.get(pk=pk))["reschedule"] for pk in links
    ]
    target = at(first, 16, 30)
    barrier = threading.Barrier(len(urls))
    statuses: list[int] = []

    def move(url: str) -> None:
        session = requests.Session()
        session.get(url, timeout=60)  # the form's CSRF cookie
        barrier.wait()
        answer = session.post(
            url,
            data={"start": target.isoformat(), "csrfmiddlewaretoken": session.cookies["csrftoken"]},
            allow_redirects=False,
            timeout=60,
        )
        statuses.append(answer.status_code)

    threads = [threading.Thread(target=move, args=(url,)) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert Counter(statuses) == Counter({302: 1, 409: 49})
    assert Booking.objects.filter(page=page, start=target).count() == 1
    assert Booking.objects.filter(page=page).count() == 50
