"""What a booking reads about its page is kept per process, and every change is seen.

Each test reads the page once (so that it is kept), changes one thing that a booking
reads, and checks that the next read sees the change: through a page edit, a row
written outside one (the admin, a data fix), a bulk close, a calendar or connection
change, or the host's profile. A kept page is served for two small queries.
"""

from __future__ import annotations

from datetime import date, time

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from booking import bookable_pages, selectors
from booking.bookable_pages import (
    HOST_COLUMNS,
    bookable_page_cached,
    booking_stamp_for,
    page_rules_kept,
)
from booking.models import BookingPage, DateOverride, PageCalendar, Question, WeeklyHours
from booking.selectors import (
    busy_calendars_for,
    page_rules_for,
    target_calendars_for,
)
from booking.services.pages import QuestionData, page_calendars_set, page_update
from calendars.models import CalendarConnection, ConnectionStatus
from tests.support.booking import at, book, workday

pytestmark = pytest.mark.django_db

# Columns of the host that no booking reads (sign-in and staff matters).
HOST_COLUMNS_NOT_READ = {
    "id",
    "password",
    "last_login",
    "is_superuser",
    "is_staff",
    "date_joined",
}


@pytest.fixture(autouse=True)
def _nothing_kept():
    bookable_pages.forget_all()
    yield
    bookable_pages.forget_all()


def read(page: BookingPage) -> BookingPage:
    found = bookable_page_cached(slug=page.slug)
    assert found is not None
    return found


def kept(page: BookingPage) -> BookingPage:
    """The page read twice: the second read is served from what the first one kept."""
    read(page)
    return read(page)


def edit(page: BookingPage, **changes) -> None:
    page = BookingPage.objects.get(pk=page.pk)
    values = {
        "fields": {},
        "hours": [(row.weekday, row.start, row.end) for row in page.weekly_hours.all()],
        "overrides": [(row.date, row.start, row.end) for row in page.date_overrides.all()],
        "questions": [
            QuestionData(label=q.label, kind=q.kind, required=q.required, pk=q.pk)
            for q in page.questions.all()
        ],
    }
    values.update(changes)
    page_update(page=page, **values)


def test_a_kept_page_costs_the_one_query_of_its_stamp(page, calendars, django_assert_num_queries):
    first = read(page)
    with django_assert_num_queries(1):
        again = read(page)
    assert again is not first  # each request gets its own copy
    assert again.pk == page.pk
    assert again.host.email == "alice@example.com"
    with django_assert_num_queries(0):  # all that a booking reads came with it
        page_rules_for(page=again)
        list(again.questions.all())
        busy_calendars_for(page=again)
        target_calendars_for(page=again)


def test_a_page_edit_of_its_fields_is_seen(page):
    assert kept(page).duration_minutes == 30
    edit(page, fields={"duration_minutes": 45})
    assert read(page).duration_minutes == 45


def test_a_page_edit_of_its_hours_overrides_and_questions_is_seen(page):
    before = kept(page)
    assert list(page_rules_for(page=before).weekly_hours[0]) == [(time(9), time(17))]
    edit(
        page,
        hours=[(0, time(7), time(11))],
        overrides=[(date(2030, 1, 7), None, None)],
        questions=[QuestionData(label="Company", kind="text")],
    )
    after = read(page)
    rules = page_rules_for(page=after)
    assert {day: list(ranges) for day, ranges in rules.weekly_hours.items()} == {
        0: [(time(7), time(11))]
    }
    assert {day: list(ranges) for day, ranges in rules.date_overrides.items()} == {
        date(2030, 1, 7): []
    }
    assert [q.label for q in after.questions.all()] == ["Company"]


@pytest.mark.parametrize("model", ["hours", "override", "question"])
def test_a_row_written_outside_a_page_edit_is_seen(page, model):
    kept(page)
    if model == "hours":
        WeeklyHours.objects.create(page=page, weekday=5, start=time(10), end=time(12))
        assert 5 in page_rules_for(page=read(page)).weekly_hours
    elif model == "override":
        DateOverride.objects.create(page=page, date=date(2030, 1, 8))
        assert date(2030, 1, 8) in page_rules_for(page=read(page)).date_overrides
    else:
        Question.objects.create(page=page, label="Phone", position=3)
        assert [q.label for q in read(page).questions.all()] == ["Phone"]


def test_a_row_deleted_outside_a_page_edit_is_seen(page):
    kept(page)
    WeeklyHours.objects.filter(page=page, weekday=0).first().delete()
    assert 0 not in page_rules_for(page=read(page)).weekly_hours


def test_calendar_choices_are_seen_whether_or_not_made_by_a_page_edit(page, calendars):
    main, team = calendars
    page.refresh_from_db()
    assert busy_calendars_for(page=kept(page)) == [main]
    PageCalendar.objects.create(page=page, calendar=team, retrieve_busy=True)
    assert busy_calendars_for(page=read(page)) == [main, team]
    page_calendars_set(page=BookingPage.objects.get(pk=page.pk), main_calendar=team, uses={})
    assert busy_calendars_for(page=read(page)) == [team]


def test_a_page_closed_in_bulk_is_seen(page):
    """``member_pages_close`` updates rows in bulk: no ``updated_at``, no signals."""
    assert kept(page).is_active
    BookingPage.objects.filter(pk=page.pk).update(is_active=False)
    assert not read(page).is_active


def test_a_calendar_switched_off_is_seen(page, calendars):
    main, _ = calendars
    assert busy_calendars_for(page=kept(page)) == [main]
    main.is_active = False
    main.save(update_fields=["is_active"])  # as a calendar list refresh does
    assert busy_calendars_for(page=read(page)) == []
    assert target_calendars_for(page=read(page)) == []


def test_a_disconnected_account_is_seen(page, calendars):
    main, _ = calendars
    assert [c.connection.status for c in target_calendars_for(page=kept(page))] == ["connected"]
    # As ``connection_disconnect`` does: in bulk, no signal from the row.
    CalendarConnection.objects.filter(pk=main.connection_id).update(
        status=ConnectionStatus.DISCONNECTED
    )
    page_now = read(page)
    assert busy_calendars_for(page=page_now) == []
    assert [c.connection.status for c in target_calendars_for(page=page_now)] == ["disconnected"]


def test_the_hosts_new_name_is_seen(page, host):
    assert kept(page).host.get_full_name() == "Alice Host"
    get_user_model().objects.filter(pk=host.pk).update(name="Alice Renamed")
    assert read(page).host.get_full_name() == "Alice Renamed"


def test_every_column_of_the_host_is_in_the_stamp_or_never_read_by_a_booking():
    columns = {field.name for field in get_user_model()._meta.concrete_fields}
    assert columns == set(HOST_COLUMNS) | HOST_COLUMNS_NOT_READ


def test_a_page_that_changed_while_it_was_loaded_is_not_kept(page, monkeypatch):
    real = bookable_pages.bookable_page_for

    def load_then_edit(*, slug):
        found = real(slug=slug)
        BookingPage.objects.filter(pk=page.pk).update(
            title="Edited meanwhile", updated_at=timezone.now()
        )  # an edit committed by another process meanwhile
        return found

    monkeypatch.setattr(bookable_pages, "bookable_page_for", load_then_edit)
    assert read(page).title == "Intro call"  # as it was read
    monkeypatch.setattr(bookable_pages, "bookable_page_for", real)
    assert read(page).title == "Edited meanwhile"


def test_an_unknown_address_has_no_stamp():
    assert booking_stamp_for(slug="nobody-here") is None
    assert bookable_page_cached(slug="nobody-here") is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_calendar_switched_off_and_on_while_the_page_loads_is_not_lost(
    page, calendars, monkeypatch
):
    """Another process switches the main calendar off just before the page's rows are
    read and on again just after: the page is kept with what it was read with, so the
    next booking, under the stamp "on", still reads busy time from the calendar."""
    import threading

    from django.db import connections

    main, _ = calendars
    real = bookable_pages.bookable_page_for

    def switch(active: bool) -> None:
        def elsewhere() -> None:
            try:
                type(main).objects.filter(pk=main.pk).update(is_active=active)
            finally:
                connections.close_all()

        other = threading.Thread(target=elsewhere)
        other.start()
        other.join()

    def load_between_switches(*, slug):
        switch(False)
        try:
            return real(slug=slug)
        finally:
            switch(True)

    monkeypatch.setattr(bookable_pages, "bookable_page_for", load_between_switches)
    read(page)  # loaded while the calendar was off, for a moment
    monkeypatch.setattr(bookable_pages, "bookable_page_for", real)
    assert busy_calendars_for(page=read(page)) == [main]
    assert busy_calendars_for(page=read(page)) == [main]  # and as kept


def test_the_rules_of_a_kept_page_are_worked_out_once_for_its_bookings(client, page, monkeypatch):
    """Building and checking the slot engine's rules cost each booking about 235 Python
    calls; a kept page carries them, and an edit of its hours brings new ones."""
    built = []
    build = selectors.page_rules_for

    def counted(*, page):
        built.append(page.pk)
        return build(page=page)

    monkeypatch.setattr(selectors, "page_rules_for", counted)
    for hour in (10, 11, 12):
        assert book(client, page.slug, start=at(workday("Europe/London"), hour)).status_code == 201
    assert built == [page.pk]
    assert list(page_rules_kept(read(page)).weekly_hours[0]) == [(time(9), time(17))]
    edit(page, hours=[(0, time(7), time(11))])
    assert list(page_rules_kept(read(page)).weekly_hours[0]) == [(time(7), time(11))]
    assert built == [page.pk, page.pk]


def test_a_page_read_otherwise_has_its_rules_worked_out_now(page):
    fresh = BookingPage.objects.get(pk=page.pk)
    assert page_rules_kept(fresh) == page_rules_for(page=fresh)
