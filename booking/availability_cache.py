"""A personal booking page's offered slots, cached, and never staler than the data.

The slots API is read far more often than availability changes, so its answer for
one page, window, viewer's time zone and reschedule token is kept in the Django cache
(Redis in production). An entry answers only for exactly what it was computed from:

- the host's *availability version*, stored in the entry and read with it (one round
  trip): a random token that every write which can change what the host's pages offer
  replaces (``availability_changed``; ``connect_receivers`` wires it to bookings,
  busy-time syncs, calendar and connection changes, and page edits). An entry made
  under another version is computed again (random tokens never come back, even when
  Redis forgets the version).

The key holds the rest:

- the page's ``updated_at`` (every page edit saves the page, in the transaction that
  changes its rules);
- the clock, folded in as dates: the page-zone date of ``now`` (the horizon counts
  days from it) and, while minimum notice cuts into the window, the page-zone date of
  ``now + notice``. The answer is computed for the earliest instant with those dates,
  so it holds a few too many early slots; each read drops the slots starting before
  its own ``now + notice``. That gives exactly what the engine would answer at that
  ``now`` (``tests/booking/test_availability_cache.py`` checks it over random histories).

A read that races a write may still see the answer from just before it, as an uncached
read that started a moment earlier would; once the write's request has answered, no
read can. The booking itself never trusts this cache: ``booking_create`` re-checks the
slot under the host's lock with the uncached engine.

Team pages (several members' time) are not cached here. Without a working cache (none
configured, Redis down) every read is computed, and a version that cannot be bumped is
logged; entries also expire after ``ENTRY_SECONDS`` as a last resort.
"""

from __future__ import annotations

import bisect
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from booking.models import Booking, BookingCohost, BookingPage, TeamKind
from booking.selectors import booking_cohosts, page_slots

log = logging.getLogger(__name__)

ENTRY_SECONDS = 600
PREFIX = "availability:1"
# Cache backends that live inside one process: a version bumped by a worker (a busy-time
# sync) would never reach the web process's copy, which would then answer stale slots.
PROCESS_LOCAL_BACKENDS = ("LocMemCache", "DummyCache")


def cache_in_use() -> bool:
    """Whether slots answers are cached: ``AVAILABILITY_CACHE`` ``on``/``off``, or ``auto``
    (the default): only when the cache is shared by every process (Redis, Memcached…),
    never with the local-memory cache ``make run`` uses without ``CACHE_URL``."""
    choice = str(getattr(settings, "AVAILABILITY_CACHE", "auto")).lower()
    if choice in ("on", "1", "true"):
        return True
    if choice in ("off", "0", "false"):
        return False
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    return not backend.endswith(PROCESS_LOCAL_BACKENDS)


# --- versions ---------------------------------------------------------------------------


def _version_key(host_id: int) -> str:
    return f"{PREFIX}:host:{host_id}"


def availability_changed(*, host_id: int | None) -> None:
    """What ``host_id``'s pages offer may have changed: forget their cached answers.

    Outside a transaction the version is bumped at once; inside one, once it commits
    (never for a rollback). Until then a read elsewhere sees the old data anyway, and
    may store its answer under the old version, which the bump then retires. A read
    inside the same transaction may be answered from before its own writes (nothing
    reads slots there: ``booking_create`` re-checks the slot with the uncached engine).
    The bump of a booking's row runs before its ``booking_event_committed`` receivers
    (it was registered first).
    """
    if host_id is None:
        return
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: _bump(host_id), robust=True)
    else:
        _bump(host_id)


def _bump(host_id: int) -> None:
    try:
        cache.set(_version_key(host_id), uuid.uuid4().hex, timeout=None)
    except Exception as error:  # the cache is an optimization: never fail the write
        log.error(
            "availability cache: could not bump host %s's version (%s); its cached answers "
            "may be served until they expire",
            host_id,
            type(error).__name__,
        )


def _version(host_id: int) -> str | None:
    """The host's current version, starting one if the cache has none; None without a cache."""
    key = _version_key(host_id)
    version = cache.get(key)
    if version is None:
        cache.add(key, uuid.uuid4().hex, timeout=None)
        version = cache.get(key)
    return version


def host_version(host_id: int) -> str | None:
    """The host's current version for other caches of what its pages show (the booking
    page's HTML); None when answers are not cached (``cache_in_use``) or the cache fails."""
    if not cache_in_use():
        return None
    try:
        return _version(host_id)
    except Exception as error:
        log.warning("availability cache unavailable (%s)", type(error).__name__)
        return None


# --- the clock ----------------------------------------------------------------------------


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(UTC)


def computing_now(
    *, zone: ZoneInfo, notice: timedelta, start: datetime, now: datetime
) -> tuple[str, datetime] | None:
    """(the clock's part of the key, the ``now`` to compute the shared answer with).

    The answer computed at the returned instant, less its slots starting before
    ``now + notice``, is the engine's answer at ``now``: both instants fall on the same
    page-zone date (the horizon), the window's lower bound ``max(start, now + notice)``
    on the same date (the first day looked at), and the earlier one is never later.
    None when a time-zone oddity (a clock going back across midnight) breaks that;
    the caller then computes without the cache.
    """
    today = now.astimezone(zone).date()
    earliest = _midnight(today, zone)
    if start > now + notice:
        part, computing = f"d{today}", earliest  # the notice cannot cut into the window
    else:
        notice_day = (now + notice).astimezone(zone).date()
        computing = max(earliest, _midnight(notice_day, zone) - notice)
        part = f"d{today}n{notice_day}"
    lower, computed_lower = max(start, now + notice), max(start, computing + notice)
    if not (
        computing <= now
        and computing.astimezone(zone).date() == today
        and computed_lower.astimezone(zone).date() == lower.astimezone(zone).date()
    ):
        return None
    return part, computing


# --- answers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EncodedSlots:
    """Slots as the API sends them: one JSON object per slot, joined, and where each starts.

    Kept this way so that a cached answer is served by slicing one string: slots are
    sorted, so dropping those before ``now + notice`` drops a prefix.
    """

    starts: list[float]  # POSIX seconds, ascending
    offsets: list[int]  # where each slot's object starts in ``body``
    body: str  # '{"start": "…", "end": "…"}, {…}'

    @classmethod
    def of(cls, slots, zone: ZoneInfo) -> EncodedSlots:
        starts, offsets, parts, at = [], [], [], 0
        for slot in slots:
            part = json.dumps(
                {
                    "start": slot.start.astimezone(zone).isoformat(),
                    "end": slot.end.astimezone(zone).isoformat(),
                }
            )
            starts.append(slot.start.timestamp())
            offsets.append(at)
            parts.append(part)
            at += len(part) + 2
        return cls(starts=starts, offsets=offsets, body=", ".join(parts))

    def array_from(self, earliest: float) -> str:
        """The JSON array of the slots that start at ``earliest`` (POSIX seconds) or later."""
        first = bisect.bisect_left(self.starts, earliest)
        return "[" + (self.body[self.offsets[first] :] if first < len(self.starts) else "") + "]"


def _compute(page, start, end, now, exclude_booking, zone) -> EncodedSlots:
    slots = page_slots(page=page, start=start, end=end, now=now, exclude_booking=exclude_booking)
    return EncodedSlots.of(slots, zone)


def slot_answers(
    *,
    page: BookingPage,
    start: datetime,
    end: datetime,
    now: datetime,
    time_zone: str,
    exclude_booking: Booking | None = None,
) -> list[tuple[str, str]]:
    """``slots_json``'s slots as (start, end) ISO texts."""
    answer = slots_json(
        page=page,
        start=start,
        end=end,
        now=now,
        time_zone=time_zone,
        exclude_booking=exclude_booking,
    )
    return [(slot["start"], slot["end"]) for slot in json.loads(answer)]


def slots_json(
    *,
    page: BookingPage,
    start: datetime,
    end: datetime,
    now: datetime,
    time_zone: str,
    exclude_booking: Booking | None = None,
) -> str:
    """``page_slots(page=…, start=…, end=…, now=…, exclude_booking=…)`` as the slots API's
    JSON array (``[{"start": …, "end": …}, …]``, times in ``time_zone``), from the cache
    when it can."""
    zone = ZoneInfo(time_zone)
    notice = timedelta(minutes=page.minimum_notice_minutes)
    earliest = (now + notice).timestamp()
    clock = computing_now(zone=ZoneInfo(page.time_zone), notice=notice, start=start, now=now)
    if getattr(page, "team_kind", "") or clock is None or not cache_in_use():
        return _compute(page, start, end, now, exclude_booking, zone).array_from(earliest)
    part, computing = clock
    key = ":".join(
        (
            PREFIX,
            f"page:{page.pk}",
            page.updated_at.isoformat() if page.updated_at else "-",
            part,
            start.astimezone(UTC).isoformat(),
            end.astimezone(UTC).isoformat(),
            time_zone,
            str(exclude_booking.pk if exclude_booking else "-"),
        )
    )
    # One round trip: the host's version and the entry, which carries the version it was
    # computed under; it answers only while that is still the host's version.
    try:
        version, stored = _version_and_entry(page.host_id, key)
    except Exception as error:
        log.warning("availability cache unavailable (%s); computing", type(error).__name__)
        return _compute(page, start, end, now, exclude_booking, zone).array_from(earliest)
    if version is not None and stored is not None and stored[0] == version:
        found = stored[1]
    else:
        found = _compute(page, start, end, computing, exclude_booking, zone)
        if version is not None:
            _cache_set(key, (version, found))
    return found.array_from(earliest)


def _version_and_entry(host_id: int, key: str) -> tuple[str | None, tuple | None]:
    """The host's version (starting one if the cache has none; None without a cache) and
    the entry stored at ``key``, read before anything is computed."""
    version_key = _version_key(host_id)
    found = cache.get_many([version_key, key])
    version = found.get(version_key)
    if version is None:
        return _version(host_id), None
    return version, found.get(key)


def _cache_set(key: str, value: tuple[str, EncodedSlots]) -> None:
    try:
        cache.set(key, value, timeout=ENTRY_SECONDS)
    except Exception as error:
        log.warning("availability cache: could not store (%s)", type(error).__name__)


# --- what bumps a version -----------------------------------------------------------------

# Saves of these that touch only other fields cannot change what is offered (token
# refreshes, sync bookkeeping, the horizon of busy time to read).
_CONNECTION_FIELDS = frozenset({"status", "host"})
_CALENDAR_FIELDS = frozenset({"is_active", "can_edit", "connection"})


def _touches(update_fields, fields: frozenset[str]) -> bool:
    return update_fields is None or bool(fields & set(update_fields))


def _host_of_page(page_id: int | None) -> int | None:
    if page_id is None:
        return None
    return BookingPage.objects.filter(pk=page_id).values_list("host_id", flat=True).first()


def on_booking_committed(sender, *, event, **kwargs) -> None:
    """A collective booking's other members: their rows are written after the booking's
    (in bulk, without signals). The host's version was bumped by the booking's own row
    (``on_host_row``: every booking event's transaction saves the booking), once that
    transaction committed, before this runs."""
    if event.booking is not None:
        attending = [row.user_id for row in booking_cohosts(booking=event.booking)]
    else:
        attending = BookingCohost.objects.filter(booking_id=event.booking_id).values_list(
            "user_id", flat=True
        )
    for user_id in attending:
        availability_changed(host_id=user_id)


def on_host_signal(sender, *, host_id: int | None = None, **kwargs) -> None:
    """``busy_time_changed``, ``connection_disconnected``, ``connection_reconnected``."""
    availability_changed(host_id=host_id)


def on_connection_signal(sender, *, connection, **kwargs) -> None:
    """``connection_established``, ``calendars_changed``."""
    availability_changed(host_id=connection.host_id)


def on_host_row(sender, *, instance, update_fields=None, **kwargs) -> None:
    """A booking, page or connection row saved or deleted (its ``host_id``)."""
    if sender.__name__ == "CalendarConnection" and not _touches(update_fields, _CONNECTION_FIELDS):
        return
    availability_changed(host_id=instance.host_id)
    if sender is Booking:
        _cohosts_changed(instance)


def _cohosts_changed(booking: Booking) -> None:
    """The other members of a collective booking: it takes their time too."""
    if Booking.page.is_cached(booking):
        if booking.page is None or booking.page.team_kind != TeamKind.COLLECTIVE:
            return  # known without a query: nobody else attends
    elif booking.page_id is None:
        return
    attending = BookingCohost.objects.filter(booking_id=booking.pk).values_list(
        "user_id", flat=True
    )
    for user_id in attending:
        availability_changed(host_id=user_id)


def on_cohost_row(sender, *, instance, **kwargs) -> None:
    """A member added to (or removed from) a collective booking."""
    availability_changed(host_id=instance.user_id)


def on_page_row(sender, *, instance, **kwargs) -> None:
    """A page's hours, date overrides or calendar choices saved or deleted."""
    availability_changed(host_id=_host_of_page(instance.page_id))


def _host_of_calendar(calendar_id: int) -> int | None:
    from calendars.models import Calendar

    return (
        Calendar.objects.filter(pk=calendar_id)
        .values_list("connection__host_id", flat=True)
        .first()
    )


def on_calendar_row(sender, *, instance, update_fields=None, **kwargs) -> None:
    if _touches(update_fields, _CALENDAR_FIELDS):
        availability_changed(host_id=_host_of_calendar(instance.pk))


def on_busy_row(sender, *, instance, **kwargs) -> None:
    availability_changed(host_id=_host_of_calendar(instance.calendar_id))


def connect_receivers() -> None:
    """Wire every write that can change a host's offered slots to its version (from
    ``BookingConfig.ready``). Model signals catch saves that no service announces
    (the admin, data fixes); bulk writes are covered by the services' own signals."""
    from django.db.models.signals import post_delete, post_save

    from booking.events import booking_event_committed
    from booking.models import DateOverride, PageCalendar, WeeklyHours
    from calendars import signals
    from calendars.models import BusyInterval, Calendar, CalendarConnection

    uid = "booking.availability_cache"
    booking_event_committed.connect(on_booking_committed, dispatch_uid=f"{uid}.booking")
    for signal in (
        signals.busy_time_changed,
        signals.connection_disconnected,
        signals.connection_reconnected,
    ):
        signal.connect(on_host_signal, dispatch_uid=f"{uid}.host")
    for signal in (signals.connection_established, signals.calendars_changed):
        signal.connect(on_connection_signal, dispatch_uid=f"{uid}.connection")
    for signal in (post_save, post_delete):
        name = "saved" if signal is post_save else "deleted"
        for model in (Booking, BookingPage, CalendarConnection):
            signal.connect(on_host_row, sender=model, dispatch_uid=f"{uid}.{model.__name__}.{name}")
        signal.connect(on_cohost_row, sender=BookingCohost, dispatch_uid=f"{uid}.cohost.{name}")
        for model in (WeeklyHours, DateOverride, PageCalendar):
            signal.connect(on_page_row, sender=model, dispatch_uid=f"{uid}.{model.__name__}.{name}")
        signal.connect(on_calendar_row, sender=Calendar, dispatch_uid=f"{uid}.Calendar.{name}")
    # One busy interval saved by itself (the admin, a data fix, a test). Not deletions:
    # a receiver would make the sync's bulk deletes fetch and announce every row, and the
    # sync announces its changes itself (``busy_time_changed``).
    post_save.connect(on_busy_row, sender=BusyInterval, dispatch_uid=f"{uid}.BusyInterval.saved")
