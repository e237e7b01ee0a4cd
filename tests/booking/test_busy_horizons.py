"""How far ahead each calendar's busy time is read: the longest horizon of the pages using it."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction

from booking.models import BookingPage
from booking.services.horizons import busy_horizons_update
from booking.services.pages import page_duplicate, page_set_active


def _set_horizon(page: BookingPage, days: int) -> None:
    """What a page edit does: change the page, then recompute the horizons, in one transaction."""
    BookingPage.objects.filter(pk=page.pk).update(horizon_days=days)
    busy_horizons_update(host=page.host)


def test_a_calendar_is_read_as_far_ahead_as_its_longest_page(db, page, calendars):
    main, team = calendars
    second = page_set_active(page=page_duplicate(page=page), active=True)
    with transaction.atomic():
        _set_horizon(page, 60)
        _set_horizon(second, 120)
    main.refresh_from_db()
    team.refresh_from_db()
    assert (main.busy_horizon_days, team.busy_horizon_days) == (120, 0)


def _waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


@pytest.mark.postgres
def test_two_pages_edited_at_once_keep_the_longest_horizon(transactional_db, page, calendars):
    """Each edit recomputes from the pages it can see; the later one must see the earlier one."""
    main, _ = calendars
    second = page_set_active(page=page_duplicate(page=page), active=True)
    _set_horizon(page, 60)
    _set_horizon(second, 30)
    first_wrote, release_first = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def run(action) -> None:
        try:
            action()
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connections.close_all()

    def lengthen_first_page() -> None:
        with transaction.atomic():
            _set_horizon(page, 120)
            first_wrote.set()
            assert release_first.wait(20)

    def lengthen_second_page() -> None:
        assert first_wrote.wait(20)
        with transaction.atomic():
            _set_horizon(second, 90)

    threads = [
        threading.Thread(target=run, args=(lengthen_first_page,)),
        threading.Thread(target=run, args=(lengthen_second_page,)),
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    while not _waiting_on_a_lock() and time.monotonic() < deadline:
        time.sleep(0.05)
    release_first.set()
    for thread in threads:
        thread.join(30)
    assert not errors
    main.refresh_from_db()
    assert main.busy_horizon_days == 120
