"""What a booking reads about its page, kept per process, keyed by a stamp read per request.

A booking POST reads the page's row, its host, its main calendar and calendar choices
with their connections, its weekly hours, date overrides and questions: five queries
that the ORM compiles again on every request, for data that changes rarely. Here they
are loaded once (``booking.selectors.bookable_page_for``) and kept in this process's
memory under a *booking stamp*, which every request reads first (one small query,
compiled once per process). A kept page answers only a request whose stamp is the one
it was loaded under:

- the page's row: its id, its last edit (``updated_at``: every page edit saves the page
  in the transaction that changes its fields, hours, overrides, questions or calendar
  choices, and such a row written outside a page edit, by the admin or a data fix,
  moves it too: ``connect_receivers``), whether it takes bookings (pages are closed in
  bulk, without an edit) and its main calendar;
- the host's columns that a booking reads (names, address, zone, language, whether the
  account is active, which emails they want), which change without touching the page;
- the host's calendar connections, each with its status, last change and disconnection,
  and each of their calendars, whether it is active and writable (a calendar list
  refresh or a disconnection changes those without touching the page).

The page's rules for the slot engine, built and checked from its row, hours and date
overrides (all under its ``updated_at``), are worked out once when it is kept
(``page_rules_kept``).

Nothing crosses processes: each reads the stamp itself, so an edit is seen by every
process on its next booking, without any message. A page is loaded together with its
stamp from one snapshot (PostgreSQL) and kept under that stamp; one loaded while the
stamp moved (read before and again with the page) is used once and not kept. Each
request gets its own copy of the kept page (its related rows are shared and must not be
changed). The re-check under the host's lock (``booking_create``) is unchanged: it
compares the page's ``updated_at`` and ``is_active`` with the database's, and reloads
the page if they differ.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections import OrderedDict
from collections.abc import Iterator

from django.db import connections, router, transaction
from django.utils import timezone

from booking.models import BookingPage, DateOverride, PageCalendar, Question, WeeklyHours
from booking.selectors import bookable_page_for, page_rules_or_none
from booking.slots import Rules
from ops.compiled_queries import query_rows, reads

MAX_ENTRIES = 256
# The page's and host's columns in the stamp: ``test_bookable_pages`` checks that every
# other column of the host is one that no booking reads.
PAGE_COLUMNS = ("pk", "is_active", "updated_at", "main_calendar_id")
HOST_COLUMNS = (
    "name",
    "email",
    "time_zone",
    "language",
    "is_active",
    "notify_booked",
    "notify_rescheduled",
    "notify_cancelled",
)
CONNECTION_COLUMNS = (
    "pk",
    "status",
    "updated_at",
    "disconnected_at",
    "calendars__id",
    "calendars__is_active",
    "calendars__can_edit",
)

_entries: OrderedDict[tuple, BookingPage] = OrderedDict()
_lock = threading.Lock()


# The page's and host's part of a stamp row; the rest is one connection's calendar.
_PAGE_PART = len(PAGE_COLUMNS) + 1 + len(HOST_COLUMNS)


@reads(BookingPage)
def _stamp_rows(slug: str):
    """The page's and host's columns, then one row per calendar of each of the host's
    connections (a connection without calendars: one row; none: one row of NULLs)."""
    fields = (
        *PAGE_COLUMNS,
        "host_id",
        *(f"host__{name}" for name in HOST_COLUMNS),
        *(f"host__calendar_connections__{name}" for name in CONNECTION_COLUMNS),
    )
    return (
        BookingPage.objects.filter(slug=slug)
        .values_list(*fields)
        .order_by("host__calendar_connections__pk", "host__calendar_connections__calendars__id")
    )


def booking_stamp_for(*, slug: str) -> tuple | None:
    """The page's booking stamp (one read whose SQL is compiled once per process: the
    ORM would compile it on every request), or None if no page has that address."""
    rows = query_rows(_stamp_rows, slug)
    if not rows:
        return None
    calendars = tuple(row[_PAGE_PART:] for row in rows if row[_PAGE_PART] is not None)
    return (router.db_for_read(BookingPage), rows[0][:_PAGE_PART], calendars)


def bookable_page_cached(*, slug: str) -> BookingPage | None:
    """``bookable_page_for(slug=slug)``: kept from an earlier request when the page's
    booking stamp is still the one it was loaded under. None if unknown."""
    stamp = booking_stamp_for(slug=slug)
    if stamp is None:
        return None
    with _lock:
        kept = _entries.get(stamp)
        if kept is not None:
            _entries.move_to_end(stamp)
    if kept is not None:
        return _own_copy(kept)
    page, stamp_read_with = _load_with_stamp(slug)
    if page is None or stamp_read_with != stamp:
        return page  # changed while it was read: used as read, not kept
    page.__dict__[_RULES] = page_rules_or_none(page=page)
    with _lock:
        _entries[stamp] = page
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return _own_copy(page)


# Where a kept page carries its rules (copied with it into each request's copy).
_RULES = "_kept_rules"


def page_rules_kept(page: BookingPage) -> Rules | None:
    """``page_rules_or_none(page=page)``: as worked out when the page was kept, else now."""
    if _RULES in page.__dict__:
        return page.__dict__[_RULES]
    return page_rules_or_none(page=page)


def _load_with_stamp(slug: str) -> tuple[BookingPage | None, tuple | None]:
    """The page and its booking stamp, read from one snapshot of the database when no
    transaction is open (PostgreSQL: REPEATABLE READ), so that the page
    is exactly what the stamp describes even if something changed and changed back while
    it was read (a calendar switched off and on again would otherwise leave a page read
    without it under the stamp with it). Inside a caller's transaction the stamp is read
    again after the page, which catches every change that has not been undone."""
    alias = router.db_for_read(BookingPage)
    connection = connections[alias]
    if connection.in_atomic_block:
        page = bookable_page_for(slug=slug)
        return page, booking_stamp_for(slug=slug)
    with transaction.atomic(using=alias):  # SQLite: a read transaction is one snapshot
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return bookable_page_for(slug=slug), booking_stamp_for(slug=slug)


def _own_copy(page: BookingPage) -> BookingPage:
    """The kept page for one request: its own fields, related-object and prefetch caches
    (Django's copy), sharing the related rows, which nothing in a booking changes."""
    clone = copy.copy(page)
    clone._prefetched_objects_cache = dict(page._prefetched_objects_cache)
    return clone


def forget_all() -> None:
    """Drop every kept page (tests)."""
    with _lock:
        _entries.clear()


# --- rows of a page written outside a page edit -------------------------------------------

_editing = threading.local()


@contextlib.contextmanager
def page_edit_marked() -> Iterator[None]:
    """Around a page edit (``booking.services.pages``), which saves the page itself: its
    rows then need not move the page's ``updated_at`` one by one."""
    _editing.depth = getattr(_editing, "depth", 0) + 1
    try:
        yield
    finally:
        _editing.depth -= 1


def on_page_row(sender, *, instance, **kwargs) -> None:
    """A page's hours, date override, question or calendar choice saved or deleted by
    itself (the admin's inlines, a data fix): the page's ``updated_at`` moves, in the
    same transaction, so that the page's booking stamp changes with it."""
    if getattr(_editing, "depth", 0):
        return
    BookingPage.objects.filter(pk=instance.page_id).update(updated_at=timezone.now())


def connect_receivers() -> None:
    """From ``BookingConfig.ready``."""
    from django.db.models.signals import post_delete, post_save

    for signal in (post_save, post_delete):
        name = "saved" if signal is post_save else "deleted"
        for model in (WeeklyHours, DateOverride, Question, PageCalendar):
            signal.connect(
                on_page_row,
                sender=model,
                dispatch_uid=f"booking.bookable_pages.{model.__name__}.{name}",
            )
