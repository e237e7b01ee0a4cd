"""Reads for booking pages: the rules, busy time and bookings the slot engine needs.

The slot engine (``booking.slots``) never touches the database; these functions
load plain values for it. Nothing here writes.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, QuerySet

from booking.models import Booking, BookingPage, BookingStatus, PageCalendar
from booking.slots import Interval, Rules, WallRange, available_slots
from calendars.events import Availability
from calendars.models import BusyInterval, Calendar, ConnectionStatus
from calendars.selectors import connection_latest_for

log = logging.getLogger(__name__)

# Bookings and busy time this far outside a query window can still matter (buffers of
# up to a day, and the per-day cap counted on whole days in the page's zone).
MARGIN = timedelta(days=2)


# --- pages ---------------------------------------------------------------------------


def pages_for_host(*, host) -> QuerySet[BookingPage]:
    return BookingPage.objects.filter(host=host).order_by("title", "pk")


def page_for_host(*, host, pk: int) -> BookingPage | None:
    """The host's own page, or None (also for another host's page)."""
    return BookingPage.objects.filter(host=host, pk=pk).first()


def public_page_for(*, slug: str) -> BookingPage | None:
    """The page at ``/book/<slug>/`` whether or not it takes bookings; None if unknown."""
    return BookingPage.objects.select_related("host").filter(slug=slug).first()


# --- rules ---------------------------------------------------------------------------


def weekly_ranges_for(*, page: BookingPage) -> dict[int, list[WallRange]]:
    ranges: dict[int, list[WallRange]] = defaultdict(list)
    for row in page.weekly_hours.all().order_by("weekday", "start"):
        ranges[row.weekday].append((row.start, row.end))
    return dict(ranges)


def override_ranges_for(*, page: BookingPage) -> dict[date, list[WallRange]]:
    """Each overridden date's ranges; an empty list closes the date."""
    ranges: dict[date, list[WallRange]] = {}
    for row in page.date_overrides.all().order_by("date", "start"):
        day = ranges.setdefault(row.date, [])  # a closed date stays an empty list
        if row.start is not None:
            day.append((row.start, row.end))
    return ranges


def page_rules_for(*, page: BookingPage) -> Rules:
    """The page's availability as the slot engine's ``Rules`` (raises ValueError if impossible)."""
    return Rules(
        time_zone=page.time_zone,
        weekly_hours=weekly_ranges_for(page=page),
        date_overrides=override_ranges_for(page=page),
        duration=timedelta(minutes=page.duration_minutes),
        increment=timedelta(minutes=page.increment_minutes),
        buffer_before=timedelta(minutes=page.buffer_before_minutes),
        buffer_after=timedelta(minutes=page.buffer_after_minutes),
        minimum_notice=timedelta(minutes=page.minimum_notice_minutes),
        horizon_days=page.horizon_days,
        max_per_day=page.max_per_day,
    )


# --- calendars -----------------------------------------------------------------------


def host_calendars(*, host) -> QuerySet[Calendar]:
    """The calendars of the host's connected account that can hold bookings."""
    return Calendar.objects.filter(
        connection__host=host,
        connection__status=ConnectionStatus.CONNECTED,
        is_active=True,
        can_edit=True,
    ).order_by("-is_default", "name", "pk")


def _usable(calendar: Calendar | None, host_id: int) -> bool:
    return (
        calendar is not None
        and calendar.is_active
        and calendar.connection.host_id == host_id
        and calendar.connection.status == ConnectionStatus.CONNECTED
    )


def main_calendar_for(*, page: BookingPage) -> Calendar | None:
    """The page's main booking calendar, if it is in the host's connected account."""
    if page.main_calendar_id is None:
        return None
    if BookingPage.main_calendar.is_cached(page):  # loaded with its connection (select_related)
        calendar = page.main_calendar
    else:
        calendar = Calendar.objects.select_related("connection").get(pk=page.main_calendar_id)
    return calendar if _usable(calendar, page.host_id) else None


def page_with_calendars(*, pk: int) -> BookingPage | None:
    """The page with its host, main calendar and calendar choices (and their connections)
    loaded in two queries: what a booking reads, under the host's lock."""
    uses = PageCalendar.objects.select_related("calendar__connection").order_by("pk")
    return (
        BookingPage.objects.select_related("host", "main_calendar__connection")
        .prefetch_related(Prefetch("calendar_uses", queryset=uses))
        .filter(pk=pk)
        .first()
    )


def _page_uses(page: BookingPage, **flag: bool) -> list[PageCalendar]:
    """The page's calendar choices with ``flag`` set, from ``page_with_calendars`` if it
    loaded them, else from the database."""
    if "calendar_uses" in getattr(page, "_prefetched_objects_cache", {}):
        return [
            use
            for use in page.calendar_uses.all()
            if all(getattr(use, k) == v for k, v in flag.items())
        ]
    return list(
        PageCalendar.objects.filter(page=page, **flag)
        .select_related("calendar__connection")
        .order_by("pk")
    )


def _uses(page: BookingPage, **flag: bool) -> list[Calendar]:
    uses = _page_uses(page, **flag)
    return [use.calendar for use in uses if _usable(use.calendar, page.host_id)]


def busy_calendars_for(*, page: BookingPage) -> list[Calendar]:
    """The main calendar and the calendars marked "retrieve busy time"."""
    main = main_calendar_for(page=page)
    extra = [c for c in _uses(page, retrieve_busy=True) if main is None or c.pk != main.pk]
    return ([main] if main else []) + extra


def target_calendars_for(*, page: BookingPage) -> list[Calendar]:
    """The calendars a booking of the page is written to: main plus "add bookings" ones.

    They are in the host's latest account even while it is disconnected: the rows then
    wait there (Setup counts them) and go out when the host reconnects it. Connecting
    another account instead re-mirrors every future booking there.
    """
    latest = connection_latest_for(host=page.host_id)
    if latest is None:
        return []

    def target(calendar: Calendar | None) -> bool:
        return calendar is not None and calendar.is_active and calendar.connection_id == latest.pk

    main = page.main_calendar if target(page.main_calendar) else None
    extra = [
        use.calendar
        for use in _page_uses(page, add_bookings=True)
        if target(use.calendar) and (main is None or use.calendar_id != main.pk)
    ]
    return ([main] if main else []) + extra


def busy_intervals_for(*, page: BookingPage, start: datetime, end: datetime) -> list[Interval]:
    """Busy time from the page's busy calendars that overlaps [start, end), in UTC."""
    calendars = busy_calendars_for(page=page)
    if not calendars:
        return []
    blocking = Availability.blocking(tentative=page.block_tentative)
    rows = BusyInterval.objects.filter(
        calendar__in=calendars, start__lt=end, end__gt=start, show_as__in=blocking
    ).values_list("start", "end")
    # A row the sync stored without length blocks nothing (and is no valid Interval).
    return [Interval(s, e) for s, e in rows if e > s]


# --- bookings --------------------------------------------------------------------------


def host_bookings_between(
    *, host_id: int, start: datetime, end: datetime, exclude_pk: int | None = None
) -> QuerySet[Booking]:
    """The host's confirmed bookings (on any page) that overlap [start, end)."""
    bookings = Booking.objects.filter(
        host_id=host_id, status=BookingStatus.CONFIRMED, start__lt=end, end__gt=start
    )
    if exclude_pk is not None:
        bookings = bookings.exclude(pk=exclude_pk)
    return bookings


def page_slots(
    *,
    page: BookingPage,
    start: datetime,
    end: datetime,
    now: datetime,
    exclude_booking: Booking | None = None,
    rules_only: bool = False,
    rules: Rules | None = None,
) -> list[Interval]:
    """Free slots of the page that start in [start, end), in UTC, sorted.

    Bookings on the page count towards its daily cap and are padded by its buffers;
    bookings on the host's other pages, and busy calendar time, block time too.
    ``exclude_booking`` is left out (a booking being rescheduled may move onto itself).
    ``rules_only`` asks what the page's rules alone offer, as if no booking and no busy
    time existed (to tell "never offered" from "taken"). ``rules``: the page's rules
    when the caller already loaded them (``page_rules_for``) for this very page state.
    """
    if rules is None:
        try:
            rules = page_rules_for(page=page)
        except ValueError:
            # Rules saved before the engine grew stricter: offer nothing rather than fail.
            log.warning(
                "booking page %s has rules the slot engine refuses; it offers no slots", page.pk
            )
            return []
    window_start, window_end = start - MARGIN, end + MARGIN
    busy: list[Interval] = []
    own: list[Interval] = []
    if not rules_only:
        busy = busy_intervals_for(page=page, start=window_start, end=window_end)
        exclude_pk = exclude_booking.pk if exclude_booking else None
        for page_id, b_start, b_end in host_bookings_between(
            host_id=page.host_id, start=window_start, end=window_end, exclude_pk=exclude_pk
        ).values_list("page_id", "start", "end"):
            (own if page_id == page.pk else busy).append(Interval(b_start, b_end))
    slots = available_slots(rules=rules, busy=busy, bookings=own, start=start, end=end, now=now)
    return [slot for slot in slots if start <= slot.start < end]


def day_window(*, first: date, last: date, time_zone: str) -> tuple[datetime, datetime]:
    """From midnight starting ``first`` to midnight ending ``last``, in ``time_zone``."""
    zone = ZoneInfo(time_zone)
    start = datetime.combine(first, time(0), zone)
    end = datetime.combine(last + timedelta(days=1), time(0), zone)
    return start, end


def slots_on_day_of(*, page: BookingPage, moment: datetime, now: datetime, **options):
    """The page's slots on the page-zone day of ``moment``."""
    local_day = moment.astimezone(ZoneInfo(page.time_zone)).date()
    start, end = day_window(first=local_day, last=local_day, time_zone=page.time_zone)
    return page_slots(page=page, start=start, end=end, now=now, **options)


def future_bookings_of_host(*, host, now: datetime) -> QuerySet[Booking]:
    return Booking.objects.filter(
        host=host, status=BookingStatus.CONFIRMED, end__gt=now
    ).select_related("page")


def upcoming_bookings_of_page(*, page: BookingPage, now: datetime) -> QuerySet[Booking]:
    return Booking.objects.filter(page=page, status=BookingStatus.CONFIRMED, end__gt=now)


def pages_needing_main_calendar(*, host) -> list[BookingPage]:
    """The host's pages whose main calendar is unset, inactive or not in a connected account."""
    pages = BookingPage.objects.filter(host=host).select_related("main_calendar__connection")
    return [
        page
        for page in pages
        if page.main_calendar is None or not _usable(page.main_calendar, host.pk)
    ]
