"""The availability cache answers exactly what the slot engine would, at every moment.

* Over random histories of one host (bookings on the page and on another page,
  cancellations, busy-time syncs, page edits, calendar choices, a calendar switched
  off, the clock moving on), every slots answer read through the cache equals the
  one computed without it, reading the same windows again and again so that stale
  entries would be found if any write forgot to retire them.
* The clock is folded into the key by dates only: for random rules, zones (half-hour
  DST, midnight transitions), busy time and instants, the answer computed at the
  shared instant, less the slots before the reader's own notice, is the engine's.
* A second read costs no query; without a working cache every read is computed.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from booking.availability_cache import EncodedSlots, computing_now, slot_answers
from booking.events import Actor
from booking.models import Booking, BookingPage, BookingStatus
from booking.selectors import day_window, page_slots
from booking.services.bookings import BookingError, Invitee, booking_cancel, booking_create
from booking.services.pages import page_calendars_set, page_create, page_update
from booking.slots import Interval, Rules, available_slots
from calendars.models import BusyInterval, Calendar, CalendarConnection
from calendars.signals import busy_time_changed, send_after_commit


@pytest.fixture(autouse=True)
def _cache_on(settings):
    """These tests run in one process, where the local-memory cache is shared enough."""
    settings.AVAILABILITY_CACHE = "on"


START = datetime(2027, 3, 25, 7, 0, tzinfo=UTC)  # London and Berlin change clocks on the 28th
VIEW_ZONES = ("Europe/London", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe")
INVITEE = Invitee(name="Ines Invitee", email="ines@example.com", time_zone="Europe/Berlin")

# --- the clock ----------------------------------------------------------------------------

CLOCK_ZONES = (
    "Europe/London",
    "America/New_York",
    "Australia/Lord_Howe",  # 30-minute DST
    "America/Havana",  # transitions at midnight
    "Asia/Beirut",  # falls back from midnight into the previous day
    "Pacific/Apia",  # skipped 2011-12-30
    "Asia/Kathmandu",  # +05:45
    "UTC",
)


@st.composite
def engine_cases(draw):
    zone = draw(st.sampled_from(CLOCK_ZONES))
    opening = draw(st.integers(0, 20))
    closing = draw(st.integers(opening + 1, 24))
    hours = [(time(opening), time(0) if closing == 24 else time(closing))]
    rules = Rules(
        time_zone=zone,
        weekly_hours={d: hours for d in draw(st.sets(st.integers(0, 6), min_size=1))},
        duration=timedelta(minutes=draw(st.sampled_from([15, 30, 60]))),
        increment=timedelta(minutes=draw(st.sampled_from([10, 15, 30]))),
        buffer_before=timedelta(minutes=draw(st.sampled_from([0, 10]))),
        minimum_notice=timedelta(minutes=draw(st.sampled_from([0, 45, 60, 720, 1440, 2880, 5000]))),
        horizon_days=draw(st.integers(0, 20)),
        max_per_day=draw(st.sampled_from([None, 1, 2])),
    )
    base = datetime(2011, 1, 1, tzinfo=UTC) + timedelta(
        minutes=draw(st.integers(0, 20 * 365 * 1440))
    )
    now = base + timedelta(minutes=draw(st.integers(0, 3 * 1440)))
    start = base + timedelta(minutes=15 * draw(st.integers(-200, 600)))
    end = start + timedelta(hours=draw(st.integers(1, 10 * 24)))
    busy, bookings = [], []
    for target in (busy, bookings):
        for _ in range(draw(st.integers(0, 6))):
            at = start + timedelta(minutes=5 * draw(st.integers(-300, 3000)))
            target.append(Interval(at, at + timedelta(minutes=draw(st.sampled_from([15, 60])))))
    later = now + timedelta(minutes=draw(st.integers(0, 3 * 1440)))
    return rules, busy, bookings, start, end, now, later


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(engine_cases())
def test_an_answer_computed_at_the_shared_instant_is_the_engines_answer_at_every_reader(case):
    rules, busy, bookings, start, end, now, later = case
    zone = ZoneInfo(rules.time_zone)
    folded = computing_now(zone=zone, notice=rules.minimum_notice, start=start, now=now)
    if folded is None:
        return  # read without the cache
    key, computing = folded
    shared = available_slots(
        rules=rules, busy=busy, bookings=bookings, start=start, end=end, now=computing
    )
    # Every reader whose clock folds into the same key is served from that one answer.
    for reader in (now, later):
        again = computing_now(zone=zone, notice=rules.minimum_notice, start=start, now=reader)
        if again is None or again[0] != key:
            continue
        expected = available_slots(
            rules=rules, busy=busy, bookings=bookings, start=start, end=end, now=reader
        )
        served = [s for s in shared if s.start >= reader + rules.minimum_notice]
        assert served == expected


# --- random histories ------------------------------------------------------------------------

OPERATIONS = st.one_of(
    st.tuples(st.just("book"), st.integers(0, 200)),
    st.tuples(st.just("book_other_page"), st.integers(0, 200)),
    st.tuples(st.just("cancel"), st.integers(0, 50)),
    st.tuples(
        st.just("busy"),
        st.integers(0, 1),  # which calendar
        st.integers(0, 10 * 96),  # quarter hours from the start of the history
        st.sampled_from([15, 30, 90, 600]),
        st.sampled_from(["busy", "tentative", "free", "oof"]),
    ),
    st.tuples(st.just("unbusy"), st.integers(0, 50)),
    st.tuples(
        st.just("edit"),
        st.sampled_from([0, 60, 240, 1440, 2 * 1440]),  # minimum notice
        st.sampled_from([0, 15]),  # buffers
        st.sampled_from([15, 30]),  # increment
        st.integers(6, 11),  # opening hour
        st.booleans(),  # tentative blocks
    ),
    st.tuples(st.just("calendars"), st.booleans()),
    st.tuples(st.just("calendar_active"), st.booleans()),
    st.tuples(st.just("clock"), st.sampled_from([1, 14, 59, 61, 180, 720, 1439, 1441, 3000])),
)
WINDOWS = st.tuples(
    st.integers(-1, 6),  # first day, from the history's start
    st.integers(0, 8),  # more days
    st.sampled_from(VIEW_ZONES),
    st.booleans(),  # as a reschedule link would: leave one booking out
)


HOSTS = itertools.count(1)  # hypothesis runs its examples in one test's database


class History:
    """One host, two pages, two calendars; the clock moved by hand."""

    def __init__(self, number: int, capture) -> None:
        from django.contrib.auth import get_user_model

        self.capture = capture
        self.now = START
        self.host = get_user_model().objects.create_user(
            f"host{number}@example.com", "host-password-1", time_zone="Europe/London"
        )
        connection = CalendarConnection.objects.create(
            host=self.host, provider="office365", account_id=f"uid{number}.tid"
        )
        self.main = Calendar.objects.create(
            connection=connection, remote_id="A", name="Calendar", is_default=True
        )
        self.second = Calendar.objects.create(connection=connection, remote_id="B", name="Team")
        with capture(execute=True):
            self.page = page_create(
                host=self.host,
                fields={"title": "Call", "slug": f"call-{number}", "time_zone": "Europe/London"},
                hours=[(d, time(9), time(17)) for d in range(6)],
            )
            self.other = page_create(
                host=self.host,
                fields={"title": "Other", "slug": f"other-{number}", "time_zone": "Europe/Berlin"},
                hours=[(d, time(8), time(18)) for d in range(7)],
            )
            page_calendars_set(page=self.page, main_calendar=self.main, uses={})
        self.serial = 0

    def fresh(self, page: BookingPage) -> BookingPage:
        return BookingPage.objects.select_related("host").get(pk=page.pk)

    def confirmed(self) -> list[Booking]:
        return list(
            Booking.objects.filter(host=self.host, status=BookingStatus.CONFIRMED).order_by("pk")
        )

    def apply(self, operation: tuple) -> None:
        kind, *args = operation
        if kind == "clock":
            self.now += timedelta(minutes=args[0])
            return
        with self.capture(execute=True):
            getattr(self, kind)(*args)

    def _book(self, page: BookingPage, pick: int) -> None:
        page = self.fresh(page)
        offered = page_slots(
            page=page, start=self.now, end=self.now + timedelta(days=8), now=self.now
        )
        if offered:
            with contextlib.suppress(BookingError):
                booking_create(
                    page=page,
                    start=offered[pick % len(offered)].start,
                    invitee=INVITEE,
                    now=self.now,
                )

    def book(self, pick: int) -> None:
        self._book(self.page, pick)

    def book_other_page(self, pick: int) -> None:
        self._book(self.other, pick)

    def cancel(self, pick: int) -> None:
        future = [b for b in self.confirmed() if b.start > self.now]
        if future:
            booking_cancel(booking=future[pick % len(future)], actor=Actor.HOST, now=self.now)

    def busy(self, which: int, quarters: int, minutes: int, show_as: str) -> None:
        calendar = (self.main, self.second)[which]
        start = START + timedelta(minutes=15 * quarters)
        self.serial += 1
        BusyInterval.objects.create(
            calendar=calendar,
            remote_event_id=f"event-{self.serial}",
            start=start,
            end=start + timedelta(minutes=minutes),
            show_as=show_as,
        )
        self._synced(calendar)

    def unbusy(self, pick: int) -> None:
        rows = list(
            BusyInterval.objects.filter(calendar__connection__host=self.host).order_by("pk")
        )
        if rows:
            row = rows[pick % len(rows)]
            row.delete()
            self._synced(row.calendar)

    def _synced(self, calendar: Calendar) -> None:
        """What the busy-time sync announces once it stored different busy time."""
        send_after_commit(
            busy_time_changed,
            calendar_id=calendar.pk,
            connection_id=calendar.connection_id,
            host_id=self.host.pk,
        )

    def edit(self, notice: int, buffers: int, increment: int, opening: int, tentative: bool):
        page = self.fresh(self.page)
        page_update(
            page=page,
            fields={
                "minimum_notice_minutes": notice,
                "buffer_before_minutes": buffers,
                "buffer_after_minutes": buffers,
                "increment_minutes": increment,
                "block_tentative": tentative,
            },
            hours=[(d, time(opening), time(17)) for d in range(6)],
            overrides=[],
            questions=[],
        )

    def calendars(self, read_second: bool) -> None:
        page = self.fresh(self.page)
        page_calendars_set(
            page=page, main_calendar=self.main, uses={self.second.pk: (read_second, False)}
        )

    def calendar_active(self, active: bool) -> None:
        self.second.is_active = active
        self.second.save()

    def check(self, window: tuple) -> None:
        first_offset, more, tz, leave_one_out = window
        first = START.date() + timedelta(days=first_offset)
        start, end = day_window(first=first, last=first + timedelta(days=more), time_zone=tz)
        bookings = self.confirmed()
        excluded = bookings[0] if leave_one_out and bookings else None
        page = self.fresh(self.page)  # as the API loads it on every request
        served = slot_answers(
            page=page, start=start, end=end, now=self.now, time_zone=tz, exclude_booking=excluded
        )
        computed = page_slots(
            page=page, start=start, end=end, now=self.now, exclude_booking=excluded
        )
        zone = ZoneInfo(tz)
        expected = [
            (s.start.astimezone(zone).isoformat(), s.end.astimezone(zone).isoformat())
            for s in computed
        ]
        assert served == expected


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    operations=st.lists(OPERATIONS, min_size=1, max_size=14),
    windows=st.lists(WINDOWS, min_size=1, max_size=3),
)
def test_the_cache_never_answers_other_than_the_engine_over_random_histories(
    operations, windows, django_capture_on_commit_callbacks
):
    cache.clear()
    history = History(next(HOSTS), django_capture_on_commit_callbacks)
    for window in windows:
        history.check(window)
    for operation in operations:
        history.apply(operation)
        for window in windows:
            history.check(window)  # stale entries would be read here
            history.check(window)  # and the one just stored, here


# --- cost and failure ---------------------------------------------------------------------------


@pytest.fixture
def busy_page(host, calendars, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        page = page_create(host=host, fields={"title": "Intro call", "slug": "alice-intro"})
    BusyInterval.objects.create(
        calendar=calendars[0],
        remote_event_id="x",
        start=START + timedelta(days=1, hours=3),
        end=START + timedelta(days=1, hours=4),
    )
    return BookingPage.objects.select_related("host").get(pk=page.pk)


def _month(page: BookingPage) -> dict:
    start, end = day_window(first=date(2027, 3, 25), last=date(2027, 4, 24), time_zone="UTC")
    return {"page": page, "start": start, "end": end, "now": START, "time_zone": "UTC"}


@pytest.mark.django_db
def test_a_second_read_of_the_same_window_asks_the_database_nothing(
    busy_page, django_assert_num_queries
):
    cache.clear()
    first = slot_answers(**_month(busy_page))
    assert first
    with django_assert_num_queries(0):
        assert slot_answers(**_month(busy_page)) == first


@pytest.mark.django_db
def test_a_booking_on_another_page_of_the_host_retires_the_answer(
    busy_page, host, django_capture_on_commit_callbacks
):
    cache.clear()
    before = slot_answers(**_month(busy_page))
    with django_capture_on_commit_callbacks(execute=True):
        other = page_create(host=host, fields={"title": "Other", "slug": "alice-other"})
    taken = datetime.fromisoformat(before[0][0])
    with django_capture_on_commit_callbacks(execute=True):
        booking_create(page=other, start=taken, invitee=INVITEE, now=START)
    after = slot_answers(**_month(BookingPage.objects.get(pk=busy_page.pk)))
    assert before[0] not in after


@pytest.mark.django_db
def test_without_a_working_cache_every_read_is_computed(busy_page, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise ConnectionError("Redis is down")

    expected = slot_answers(**_month(busy_page))
    for method in ("get", "get_many", "set", "add"):
        monkeypatch.setattr(cache, method, broken)
    with caplog.at_level(logging.WARNING):
        assert slot_answers(**_month(busy_page)) == expected
    assert "availability cache unavailable (ConnectionError)" in caplog.text


def test_an_answer_is_served_from_the_first_slot_at_or_after_the_readers_notice():
    zone = ZoneInfo("Asia/Kathmandu")
    slots = [
        Interval(START + timedelta(minutes=30 * n), START + timedelta(minutes=30 * n + 30))
        for n in range(3)
    ]
    encoded = EncodedSlots.of(slots, zone)
    every = json.loads(encoded.array_from(0))
    assert [s["start"] for s in every] == [s.start.astimezone(zone).isoformat() for s in slots]
    assert json.loads(encoded.array_from(slots[1].start.timestamp())) == every[1:]
    assert json.loads(encoded.array_from(slots[1].start.timestamp() - 1)) == every[1:]
    assert encoded.array_from(slots[2].start.timestamp() + 1) == "[]"
    assert EncodedSlots.of([], zone).array_from(0) == "[]"


def test_a_cache_private_to_each_process_is_not_used_unless_asked(settings):
    """`make run` without CACHE_URL: web and worker each have their own local memory, so a
    sync's version bump in the worker would never retire the web process's answer."""
    from booking.availability_cache import cache_in_use

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.AVAILABILITY_CACHE = "auto"
    assert not cache_in_use()
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache"}}
    assert cache_in_use()
    settings.AVAILABILITY_CACHE = "off"
    assert not cache_in_use()


@pytest.mark.django_db
def test_a_booking_bumps_the_hosts_version_once_after_it_commits(
    busy_page, host, monkeypatch, django_capture_on_commit_callbacks
):
    """The booking's row, its event and its writes all announce the host: one bump, made
    once the transaction committed (a rollback makes none)."""
    from booking import availability_cache

    bumped: list[int] = []
    monkeypatch.setattr(availability_cache, "_bump", bumped.append)
    start = datetime.fromisoformat(slot_answers(**_month(busy_page))[0][0])
    with django_capture_on_commit_callbacks() as callbacks:
        booking_create(page=busy_page, start=start, invitee=INVITEE, now=START)
        assert bumped == []  # not before the commit
    for callback in callbacks:
        callback()
    assert bumped == [host.pk]


@pytest.mark.django_db
def test_a_write_rolled_back_bumps_nothing(host, monkeypatch, django_capture_on_commit_callbacks):
    from django.db import transaction

    from booking import availability_cache

    bumped: list[int] = []
    monkeypatch.setattr(availability_cache, "_bump", bumped.append)
    with (
        django_capture_on_commit_callbacks(execute=True),
        contextlib.suppress(RuntimeError),
        transaction.atomic(),
    ):
        availability_cache.availability_changed(host_id=host.pk)
        raise RuntimeError("rolled back")
    assert bumped == []
