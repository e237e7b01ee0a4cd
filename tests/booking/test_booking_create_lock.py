"""A new booking's re-check under the host's lock: one statement reads whether the page was
edited meanwhile and the host's bookings around the slot, and an edit or a booking that
came first is still seen."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from booking.models import Booking, BookingPage
from booking.services import bookings
from booking.services.bookings import Invitee, PageClosed, SlotTaken, booking_create
from tests.support.booking import at, workday

pytestmark = pytest.mark.django_db

INVITEE = Invitee(name="Dana", email="dana@example.com", time_zone="Asia/Kolkata")
HOST_LOCK = 'AS "pk" FROM "accounts_user"'  # booking.services.locking.host_lock
TRANSACTION = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT")


def _statements_after_lock(captured) -> list[str]:
    sqls = [query["sql"] for query in captured.captured_queries]
    locked = next(n for n, sql in enumerate(sqls) if HOST_LOCK in sql)
    return [sql for sql in sqls[locked + 1 :] if not sql.startswith(TRANSACTION)]


def test_under_the_lock_a_new_booking_reads_once(page, host):
    day = workday("Europe/London")
    booking_create(page=page, start=at(day, 9), invitee=INVITEE)  # a booking to count
    with CaptureQueriesContext(connection) as captured:
        booking = booking_create(page=page, start=at(day, 10), invitee=INVITEE)
    # The page's stamp and the host's bookings around the slot, together.
    [read] = _statements_after_lock(captured)
    assert '"booking_bookingpage"' in read
    assert 'FROM "booking_booking"' in read
    assert booking.start == at(day, 10)


def test_a_booking_made_before_the_lock_is_seen(page, host, monkeypatch):
    day = workday("Europe/London")
    real_lock = bookings.host_lock
    taken = []

    def lock_after_another_booking(host_id: int) -> None:
        if not taken:  # another invitee's booking of the same time, made first
            taken.append(
                Booking.objects.create(
                    page=page,
                    host=host,
                    title=page.title,
                    start=at(day, 10),
                    end=at(day, 10) + timedelta(minutes=page.duration_minutes),
                    invitee_name="Eli",
                    invitee_email="eli@example.com",
                    invitee_time_zone="UTC",
                )
            )
        real_lock(host_id)

    monkeypatch.setattr(bookings, "host_lock", lock_after_another_booking)
    with pytest.raises(SlotTaken):
        booking_create(page=page, start=at(day, 10), invitee=INVITEE)
    assert taken
    assert not Booking.objects.filter(invitee_name="Dana").exists()


def test_a_page_edited_while_the_booking_waits_is_read_again_under_the_lock(
    page, host, monkeypatch
):
    day = workday("Europe/London")
    real_lock = bookings.host_lock

    def lock_after_an_edit(host_id: int) -> None:
        BookingPage.objects.filter(pk=page.pk).update(
            duration_minutes=60, updated_at=timezone.now()
        )
        real_lock(host_id)

    monkeypatch.setattr(bookings, "host_lock", lock_after_an_edit)
    booking = booking_create(page=page, start=at(day, 10), invitee=INVITEE)
    assert booking.end == at(day, 11)  # the page's new length
    assert Booking.objects.get().end == at(day, 11)


def test_a_page_closed_while_the_booking_waits_refuses_it(page, host, monkeypatch):
    day = workday("Europe/London")
    real_lock = bookings.host_lock

    def lock_after_closing(host_id: int) -> None:
        BookingPage.objects.filter(pk=page.pk).update(is_active=False, updated_at=timezone.now())
        real_lock(host_id)

    monkeypatch.setattr(bookings, "host_lock", lock_after_closing)
    with pytest.raises(PageClosed):
        booking_create(page=page, start=at(day, 10), invitee=INVITEE)
    assert not Booking.objects.exists()
