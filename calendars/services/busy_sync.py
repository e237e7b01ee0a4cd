"""Busy-time sync: keep each busy calendar's events as local ``BusyInterval`` rows.

Which calendars: those of connected accounts that some active booking page reads
for busy time (``Calendar.busy_horizon_days`` > 0, maintained by ``booking``).
How far: from now to ``busy_horizon_days`` + 1 days ahead.

How: a *full read* of the window through the provider's delta query (Graph's
``calendarView/delta``) replaces the calendar's intervals and leaves a delta link;
later cycles call the delta link and apply only the changes, so a cycle with no
changes costs one small request per calendar. The full read is repeated when
the window must move forward (the horizon would pass its end), at least every
``CALENDAR_SYNC_FULL_EVERY`` seconds, and when the provider forgot the delta
link (``DeltaExpired``). Where each calendar stands (link, window) is its
``CalendarSyncState`` row.

What blocks: busy, out of office and working elsewhere always; tentative is stored
too and each page decides (``BookingPage.block_tentative``); free, unknown and
cancelled events are not stored (``calendars.events.Availability``, which the
provider translated its own words into). An all-day event blocks the host's whole days
in the host's own time zone (the provider names its days, not instants). Events we
pushed for this connection's host (recognised by their idempotency key) are skipped:
the bookings they mirror already block their time. Another host's pushes into a shared
mailbox are busy time.

One worker at a time per connection: a lease on the connection row taken with a
conditional UPDATE. The sync also holds one of the mailbox's concurrent-call slots.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from calendars import crypto
from calendars.backoff import busy_mailbox_delay, retry_delay
from calendars.dispatch import sync_enqueue_on_commit
from calendars.error_text import error_stored
from calendars.models import (
    BusyInterval,
    Calendar,
    CalendarConnection,
    CalendarSyncState,
    PushedEvent,
)
from calendars.providers import CalendarProvider, ProviderError
from calendars.providers.base import BusyChanges, BusyEvent, CalendarGone, DeltaExpired
from calendars.services.leases_owed import lease_give_back, leases_give_back_owed
from calendars.services.mailbox_slots import MailboxBusy, connection_call_slot
from calendars.services.mailbox_throttle import mailbox_throttled
from calendars.services.subscriptions import (
    live_connection_ids,
    subscription_check,
    subscription_ensure,
    unneeded_connection_ids,
)
from calendars.services.tokens import with_provider
from calendars.signals import busy_time_changed, send_after_commit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncOutcome:
    """What a sync did; ``retry_in`` (seconds): try again then (some calendars failed)."""

    status: str  # synced, partial, skipped, busy, waiting
    calendars: int = 0
    retry_in: float | None = None
    held_elsewhere: bool = False  # skipped: another worker is syncing the connection
    busy_changed: bool = False  # some calendar's busy time changed


def connections_to_sync() -> QuerySet[CalendarConnection]:
    """Connected accounts with at least one calendar that a page reads busy time from."""
    return (
        CalendarConnection.objects.live()
        .filter(
            calendars__is_active=True,
            calendars__busy_horizon_days__gt=0,
        )
        .distinct()
    )


def connections_due(*, now: datetime | None = None) -> list[int]:
    """Connections beat should sync now, by id.

    Every connection with busy calendars, except those whose change notifications are
    live and whose busy calendars were all read within ``CALENDAR_SYNC_INTERVAL_LIVE``
    (the safety net); also connections whose subscription no page needs any more (the
    sync deletes it).
    """
    now = now or timezone.now()
    busy = Q(calendars__is_active=True, calendars__busy_horizon_days__gt=0)
    rows = connections_to_sync().annotate(
        stalest=Min("calendars__last_synced_at", filter=busy),
        never=Count("calendars", filter=busy & Q(calendars__last_synced_at=None)),
    )
    live = live_connection_ids(now=now)
    cutoff = now - timedelta(seconds=settings.CALENDAR_SYNC_INTERVAL_LIVE)
    due = []
    busy_ids = set()
    for pk, stalest, never in rows.values_list("pk", "stalest", "never"):
        busy_ids.add(pk)
        if pk not in live or never or stalest is None or stalest <= cutoff:
            due.append(pk)
    return sorted(due + unneeded_connection_ids(busy_ids=busy_ids))


def calendars_to_sync(*, connection: CalendarConnection) -> QuerySet[Calendar]:
    return connection.calendars.filter(is_active=True, busy_horizon_days__gt=0).order_by("pk")


# --- one connection -------------------------------------------------------------------------


def connection_sync(
    *, connection_id: int, attempt: int = 1, now: datetime | None = None, notified: bool = False
) -> SyncOutcome:
    """Sync every busy calendar of the connection. Never called in a web request; idempotent.

    ``notified``: the provider announced a change. A sync that was not (beat's safety
    net) and still finds busy time changed while notifications are live suspects them:
    the subscription is renewed at once, which makes a new one if it quietly vanished.

    Returns ``busy`` (with ``retry_in``) when the mailbox has no free slot, ``skipped``
    when another worker is syncing it or it is not connected, ``waiting`` when the
    sign-in turned out to be gone (the connection is then disconnected).
    """
    leases_give_back_owed()
    connection = CalendarConnection.objects.live().filter(pk=connection_id).first()
    if connection is None:
        return SyncOutcome("skipped")
    try:
        with connection_call_slot(connection=connection):
            until = _claim(connection_id=connection.pk, now=now or timezone.now())
            if until is None:
                return SyncOutcome("skipped", held_elsewhere=True)
            try:
                # Before reading: a change from now on is notified, one before it is read.
                needed = calendars_to_sync(connection=connection).exists()
                what = subscription_ensure(connection=connection, needed=needed)
                if what not in ("live", "unsupported", "not needed", "unavailable", "waiting"):
                    logger.info(
                        "sync_connection connection=%s: change notifications %s",
                        connection.pk,
                        what,
                    )
                outcome = _sync_calendars(connection=connection, attempt=attempt)
                if outcome.busy_changed and not notified and what == "live":
                    subscription_check(connection=connection)
                return outcome
            finally:
                lease_give_back(
                    what=f"sync lease of connection {connection.pk}",
                    release=partial(_unclaim, connection_id=connection.pk, until=until),
                )
    except MailboxBusy:
        return SyncOutcome("busy", retry_in=busy_mailbox_delay())


def _unclaim(*, connection_id: int, until: datetime) -> None:
    CalendarConnection.objects.filter(pk=connection_id, sync_claimed_until=until).update(
        sync_claimed_until=None
    )


def _claim(*, connection_id: int, now: datetime) -> datetime | None:
    """Take the connection's sync lease; its expiry (our token), or None if another has it."""
    until = now + timedelta(seconds=settings.CALENDAR_TASK_LEASE)
    taken = (
        CalendarConnection.objects.live()
        .filter(pk=connection_id)
        .filter(Q(sync_claimed_until__isnull=True) | Q(sync_claimed_until__lte=now))
        .update(sync_claimed_until=until)
    )
    return until if taken else None


def _sync_calendars(*, connection: CalendarConnection, attempt: int) -> SyncOutcome:
    calendars = list(calendars_to_sync(connection=connection))
    failures: list[tuple[Calendar, ProviderError]] = []
    changed = False
    # Not read before its retry time: that is at least the provider's Retry-After, which
    # Microsoft asks to wait out ("Graph throttling": retrying sooner keeps the throttle
    # on). Beat's cycles and notifications would otherwise call it again meanwhile; the
    # sync is asked for again when the time comes.
    now = timezone.now()
    not_yet = [left for c in calendars if (left := _wait_left(c, now))]
    # Microsoft throttles per app and mailbox: once one read is throttled, the others
    # would be too, and calling anyway prolongs it (``services.mailbox_throttle``).
    held_until: datetime | None = None
    for calendar in calendars:
        if _wait_left(calendar, now):
            continue
        if held_until is not None:
            not_yet.append(max(0.0, (held_until - now).total_seconds()))
            continue
        try:
            read = calendar_sync(connection=connection, calendar=calendar)
        except crypto.TokenKeyError:
            error = ProviderError("The stored sign-in cannot be decrypted.", code="token_key")
            failures.append((calendar, error))
            continue
        except CalendarGone as error:
            # Deleted in the provider (Outlook): its events went with it, so its busy time
            # no longer blocks anything. The host sees why in Setup.
            changed = _busy_time_forget(calendar) or changed
            failures.append((calendar, error))
            continue
        except ProviderError as error:
            if error.permanent:
                _record_error(calendar, error, retry_at=None)
                logger.warning(
                    "sync_connection connection=%s: the sign-in is gone (%s)",
                    connection.pk,
                    error.code,
                )
                return SyncOutcome("waiting", calendars=len(calendars))
            held_until = mailbox_throttled(connection=connection, error=error)
            if error.status == 403 and _read_too_long_ago(calendar):
                # We may no longer read it (ErrorAccessDenied): its busy time is kept for a
                # while (rights are often given back soon), then no longer trusted.
                changed = _busy_time_forget(calendar) or changed
            failures.append((calendar, error))
            continue
        logger.info(
            "sync_connection connection=%s calendar=%s: %s", connection.pk, calendar.pk, read.what
        )
        changed = changed or read.busy_changed
    later = min(not_yet) if not_yet else None
    if not failures and later is None:
        return SyncOutcome("synced", calendars=len(calendars), busy_changed=changed)
    if not failures:
        return SyncOutcome("partial", calendars=len(calendars), retry_in=later)
    wait = retry_delay(
        attempt=attempt, retry_after=max((e.retry_after or 0.0) for _, e in failures)
    )
    retry_at = timezone.now() + timedelta(seconds=wait)
    for calendar, error in failures:
        _record_error(calendar, error, retry_at=retry_at if error.retryable else None)
        logger.info(
            "sync_connection connection=%s calendar=%s: failed (%s %s)",
            connection.pk,
            calendar.pk,
            error.status or "",
            error.code,
        )
    retry_in = wait if any(error.retryable for _, error in failures) else None
    if later is not None:
        retry_in = later if retry_in is None else min(retry_in, later)
    return SyncOutcome("partial", calendars=len(calendars), retry_in=retry_in)


def _wait_left(calendar: Calendar, now: datetime) -> float:
    """Seconds until the calendar may be read again after a failure (0: now)."""
    if calendar.sync_retry_at is None:
        return 0.0
    return max(0.0, (calendar.sync_retry_at - now).total_seconds())


def _read_too_long_ago(calendar: Calendar) -> bool:
    """Whether the calendar's last good read is older than ``CALENDAR_SYNC_FULL_EVERY``,
    the longest its busy time goes without a full read while it can be read."""
    full_every = timedelta(seconds=settings.CALENDAR_SYNC_FULL_EVERY)
    last = calendar.last_synced_at
    return last is None or last <= timezone.now() - full_every


def _busy_time_forget(calendar: Calendar) -> bool:
    """Drop a vanished calendar's busy time and its delta link; True if it had busy time."""
    with transaction.atomic():
        dropped, _ = BusyInterval.objects.filter(calendar=calendar).delete()
        CalendarSyncState.objects.filter(calendar=calendar).update(
            delta_link="", full_synced_at=None
        )
    if dropped:
        _announce_busy_time_changed(calendar)
    return bool(dropped)


def _record_error(calendar: Calendar, error: ProviderError, *, retry_at: datetime | None) -> None:
    Calendar.objects.filter(pk=calendar.pk).update(
        last_sync_error=error_stored(error, provider_key=calendar.connection.provider),
        sync_retry_at=retry_at,
    )


# --- one calendar -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarRead:
    """What one calendar's sync did (``what``, for the log) and whether its busy time changed."""

    what: str
    busy_changed: bool


def calendar_sync(
    *, connection: CalendarConnection, calendar: Calendar, now: datetime | None = None
) -> CalendarRead:
    """Bring one calendar's busy intervals up to date; returns what was done.

    Raises ProviderError.
    """
    now = now or timezone.now()
    state, _ = CalendarSyncState.objects.get_or_create(calendar=calendar)
    needed_until = now + timedelta(days=calendar.busy_horizon_days + 1)
    full_every = timedelta(seconds=settings.CALENDAR_SYNC_FULL_EVERY)
    if _delta_will_do(state, needed_until=needed_until, full_after=now - full_every):
        try:
            changes = _read(connection, calendar, delta_link=state.delta_link)
        except DeltaExpired:
            pass  # the provider forgot the link: read everything again, below
        else:
            count = _store_changes(calendar=calendar, changes=changes, now=now)
            if count:
                _announce_busy_time_changed(calendar)
            return CalendarRead(f"{count} change(s)", busy_changed=bool(count))
    # The window runs until the next scheduled full read would need it to.
    start, end = now, needed_until + full_every + timedelta(days=1)
    changes = _read(connection, calendar, start=start, end=end)
    before = _busy_fingerprint(calendar)
    count = _store_full(calendar=calendar, changes=changes, start=start, end=end, now=now)
    changed = _busy_fingerprint(calendar) != before
    if changed:
        _announce_busy_time_changed(calendar)
    return CalendarRead(f"full read, {count} busy interval(s)", busy_changed=changed)


def _busy_fingerprint(calendar: Calendar) -> list[tuple]:
    """The calendar's stored busy time, to tell whether a full read changed it."""
    return list(
        BusyInterval.objects.filter(calendar=calendar)
        .order_by("remote_event_id")
        .values_list("remote_event_id", "start", "end", "show_as")
    )


def _announce_busy_time_changed(calendar: Calendar) -> None:
    send_after_commit(
        busy_time_changed,
        calendar_id=calendar.pk,
        connection_id=calendar.connection_id,
        host_id=calendar.connection.host_id,
    )


def _delta_will_do(
    state: CalendarSyncState, *, needed_until: datetime, full_after: datetime
) -> bool:
    """Whether following the stored delta link is enough, instead of a full read.

    It is when there is a link, the window it covers still reaches as far ahead as the
    pages need, and the last full read happened after ``full_after``.
    """
    if not state.delta_link or state.synced_until is None or state.full_synced_at is None:
        return False
    return state.synced_until >= needed_until and state.full_synced_at > full_after


def _read(
    connection: CalendarConnection,
    calendar: Calendar,
    *,
    delta_link: str = "",
    start: datetime | None = None,
    end: datetime | None = None,
) -> BusyChanges:
    remote_id = calendar.remote_id

    def read(provider: CalendarProvider, token: str) -> BusyChanges:
        return provider.busy_changes(
            access_token=token,
            calendar_id=remote_id,
            start=start or timezone.now(),
            end=end or timezone.now(),
            delta_link=delta_link,
        )

    return with_provider(connection=connection, action=read)


def _ours(events: list[BusyEvent], *, host_id: int) -> set[str]:
    """The transaction ids among ``events`` of events we pushed for this host.

    Only the host's own pushes: the bookings they mirror block the host's pages
    already (and a booking being moved must not block itself). Another host may
    share the mailbox (an assistant and their manager); their bookings are busy
    time here like any other meeting.
    """
    keys = set()
    for event in events:
        try:
            keys.add(uuid.UUID(event.transaction_id))
        except ValueError:
            continue
    if not keys:
        return set()
    found = PushedEvent.objects.filter(transaction_id__in=keys, host_id=host_id).values_list(
        "transaction_id", flat=True
    )
    return {str(key) for key in found}


def _latest(calendar: Calendar, changes: BusyChanges) -> dict[str, BusyEvent | None]:
    """Each event id's final state in this read: the event to keep, or None to drop."""
    ours = _ours(changes.events, host_id=calendar.connection.host_id)
    latest: dict[str, BusyEvent | None] = {remote_id: None for remote_id in changes.removed_ids}
    for event in changes.events:
        keep = (
            event.availability.may_block
            and not event.is_cancelled
            and event.end > event.start
            and event.transaction_id not in ours
        )
        latest[event.remote_id] = event if keep else None
    return latest


def _host_zone(calendar: Calendar) -> ZoneInfo:
    """The zone an all-day event's days are the host's days in: the host's own."""
    try:
        return ZoneInfo(calendar.connection.host.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def busy_zone_changed(*, host_id: int) -> list[int]:
    """The host's own time zone changed: their all-day events are whole days in it, and
    their stored busy time still has the old zone's days. So every calendar of the host's
    live connection is read in full (on commit), not through its delta link (which would
    bring only events changed since). Returns the connections queued."""
    live = CalendarConnection.objects.live().filter(host_id=host_id)
    CalendarSyncState.objects.filter(calendar__connection__in=live).update(full_synced_at=None)
    queued = list(live.values_list("pk", flat=True))
    for connection_id in queued:
        sync_enqueue_on_commit(connection_id)
    return queued


def on_time_zone_changed(sender, *, user, **kwargs) -> None:
    """``accounts.services.time_zone_changed``: the user's busy time follows their zone."""
    busy_zone_changed(host_id=user.pk)


def _interval(calendar: Calendar, event: BusyEvent, zone: ZoneInfo) -> BusyInterval:
    start, end = event.start, event.end
    if event.all_day:
        # A day off is the host's whole day wherever UTC's midnight falls.
        first, after = event.all_day
        start = datetime.combine(first, time(0), zone)
        end = datetime.combine(after, time(0), zone)
    return BusyInterval(
        calendar=calendar,
        remote_event_id=event.remote_id[:512],
        start=start,
        end=end,
        show_as=event.availability.value,
    )


def _mark_synced(calendar: Calendar, now: datetime, **state) -> None:
    """Record a successful sync: the host sees it, and the provider state moves on."""
    Calendar.objects.filter(pk=calendar.pk).update(
        last_synced_at=now, last_sync_error="", sync_retry_at=None
    )
    CalendarSyncState.objects.filter(calendar=calendar).update(**state)


def _store_full(
    *, calendar: Calendar, changes: BusyChanges, start: datetime, end: datetime, now: datetime
) -> int:
    kept = [event for event in _latest(calendar, changes).values() if event is not None]
    with transaction.atomic():
        BusyInterval.objects.filter(calendar=calendar).delete()
        zone = _host_zone(calendar)
        BusyInterval.objects.bulk_create(
            [_interval(calendar, e, zone) for e in kept], batch_size=500
        )
        _mark_synced(
            calendar,
            now,
            delta_link=changes.delta_link,
            synced_from=start,
            synced_until=end,
            full_synced_at=now,
        )
    return len(kept)


def _store_changes(*, calendar: Calendar, changes: BusyChanges, now: datetime) -> int:
    latest = _latest(calendar, changes)
    with transaction.atomic():
        ids = list(latest)
        for chunk in range(0, len(ids), 500):
            BusyInterval.objects.filter(
                calendar=calendar, remote_event_id__in=ids[chunk : chunk + 500]
            ).delete()
        zone = _host_zone(calendar)
        BusyInterval.objects.bulk_create(
            [_interval(calendar, e, zone) for e in latest.values() if e is not None],
            batch_size=500,
        )
        _mark_synced(calendar, now, delta_link=changes.delta_link)
    return len(latest)


# --- which calendars are read, and how far ------------------------------------------------------


def busy_horizons_set(*, host, horizons: dict[int, int]) -> list[int]:
    """Set how many days ahead each of ``host``'s calendars is read (absent ids: 0, not read).

    Called by ``booking`` whenever pages, their horizons or their calendars change.
    Queues a sync (on commit) of every connection whose busy calendars changed; returns
    the changed calendars' ids.
    """
    changed: list[int] = []
    connections: set[int] = set()
    rows = Calendar.objects.filter(connection__host=host).values_list(
        "pk", "connection_id", "busy_horizon_days"
    )
    for pk, connection_id, days in rows:
        wanted = max(0, horizons.get(pk, 0))
        if wanted != days:
            Calendar.objects.filter(pk=pk).update(busy_horizon_days=wanted)
            changed.append(pk)
            if wanted:
                connections.add(connection_id)
    for connection_id in sorted(connections):
        sync_enqueue_on_commit(connection_id)
    return changed
