"""Reads for the calendar integration's pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Case, Count, F, Min, OuterRef, Q, QuerySet, Subquery, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from calendars.error_text import error_shown
from calendars.events import EventDescription
from calendars.models import (
    Calendar,
    CalendarConnection,
    ConnectionStatus,
    DisconnectReason,
    PushedEvent,
    PushState,
)
from calendars.providers import get_provider


@dataclass(frozen=True)
class Banner:
    """A notice shown on every Setup page."""

    level: str  # "warning" or "error"
    message: str
    provider: str
    account_email: str

    @property
    def connect_url(self) -> str:
        return reverse(f"calendars:{self.provider}_connect")


def connection_live_for(*, host) -> CalendarConnection | None:
    """The host's live (connected) calendar connection, if any: the one definition."""
    return CalendarConnection.objects.live().filter(host=host).first()


def connection_latest_for(*, host) -> CalendarConnection | None:
    """The live connection, or else the most recently disconnected one."""
    live = connection_live_for(host=host)
    if live is not None:
        return live
    return (
        CalendarConnection.objects.filter(host=host)
        .order_by("-disconnected_at", "-updated_at")
        .first()
    )


def meeting_still_coming(*, source: str) -> bool:
    """Whether an event of ``source`` that asks for an online meeting is still to be made
    (wanted, no event yet): its push may bring a join link."""
    rows = PushedEvent.objects.filter(
        source=source, wanted=True, payload__online_meeting=True, remote_id=""
    )
    return rows.exists()


def meetings_held() -> QuerySet[PushedEvent]:
    """The rows whose events hold their source's online meeting now, with its join link.

    Only the row that asks for the meeting counts (the first calendar's event; the others
    are copies for the host's records, ``calendars.services.mirroring``), only while it is
    wanted, and only in the host's latest account (``connection_latest_for``): after the
    host connects another account, the events of the old one, which stay as they were,
    are no longer the source's.
    """
    latest = (
        CalendarConnection.objects.filter(host=OuterRef("host"))
        .order_by(
            Case(When(status=ConnectionStatus.CONNECTED, then=Value(0)), default=Value(1)),
            F("disconnected_at").desc(nulls_last=True),
            "-updated_at",
        )
        .values("pk")[:1]
    )
    return PushedEvent.objects.filter(
        wanted=True, payload__online_meeting=True, calendar__connection=Subquery(latest)
    ).exclude(online_meeting_url="")


def banners_for_host(*, host, now: datetime | None = None) -> list[Banner]:
    """Expiry warnings and disconnected notices for ``host``."""
    now = now or timezone.now()
    connection = connection_latest_for(host=host)
    if connection is None:
        return []
    name = get_provider(connection.provider).name
    if connection.is_connected:
        expires = connection.refresh_expires_at
        horizon = timedelta(days=max(settings.CALENDAR_EXPIRY_WARNING_DAYS, default=0))
        if expires is None or expires - now > horizon:
            return []
        with timezone.override(host.time_zone):
            when = date_format(timezone.localtime(expires), _("l j F Y, H:i T"))
        return [
            Banner(
                level="warning",
                message=_(
                    "Your %(name)s connection (%(email)s) expires on %(when)s. "
                    "Reconnect to keep bookings arriving in your calendar."
                )
                % {"name": name, "email": connection.account_email, "when": when},
                provider=connection.provider,
                account_email=connection.account_email,
            )
        ]
    if connection.disconnect_reason in (DisconnectReason.EXPIRED, DisconnectReason.REVOKED):
        return [
            Banner(
                level="error",
                message=_(
                    "Your %(name)s calendar (%(email)s) is disconnected: %(reason)s. New bookings "
                    "are not added to your calendar and your busy time is not checked until you "
                    "reconnect."
                )
                % {
                    "name": name,
                    "email": connection.account_email,
                    "reason": connection.disconnect_reason_words,
                },
                provider=connection.provider,
                account_email=connection.account_email,
            )
        ]
    return []


# --- busy-time sync, for Setup ----------------------------------------------------------------


@dataclass(frozen=True)
class SyncStatus:
    """How a calendar's busy time is kept, in words for the host."""

    used_for_busy: bool
    # "Last synced 3 minutes ago", "Never synced", "Not used for busy time", or for an
    # unused default calendar what it will be used for.
    synced: str
    error: str  # "" or a sentence, e.g. "Microsoft was busy (throttled); we'll try again at 10:42."


def time_ago(delta: timedelta) -> str:
    """``delta`` as "just now", "1 minute ago", "5 minutes ago", "2 hours ago", "3 days ago"."""
    minutes = max(0, int(delta.total_seconds() // 60))
    units = (
        (1440, lambda n: ngettext("%(count)s day ago", "%(count)s days ago", n)),
        (60, lambda n: ngettext("%(count)s hour ago", "%(count)s hours ago", n)),
        (1, lambda n: ngettext("%(count)s minute ago", "%(count)s minutes ago", n)),
    )
    for size, words in units:
        if minutes >= size:
            count = minutes // size
            return words(count) % {"count": count}
    return _("just now")


def calendar_sync_status(
    *, calendar: Calendar, time_zone: str, now: datetime | None = None
) -> SyncStatus:
    """The calendar's sync state for Setup (no queries: reads the calendar's own fields)."""
    now = now or timezone.now()
    used = calendar.busy_horizon_days > 0
    if not used and calendar.is_default:
        # No page reads it yet (say, right after a first connect), but every new page
        # makes it its main booking calendar, whose busy time is always read.
        synced = _(
            "Main booking calendar of new booking pages: its busy time is read as soon "
            "as one takes bookings"
        )
    elif not used:
        synced = _("Not used for busy time")
    elif calendar.last_synced_at is None:
        synced = _("Never synced")
    else:
        synced = _("Last synced %(ago)s") % {"ago": time_ago(now - calendar.last_synced_at)}
    error = ""
    if used and calendar.last_sync_error:
        words = error_shown(calendar.last_sync_error)
        error = words[0].upper() + words[1:]
        if calendar.sync_retry_at is not None:
            at = timezone.localtime(calendar.sync_retry_at, ZoneInfo(time_zone))
            error += _("; we'll try again at %(at)s") % {"at": f"{at:%H:%M}"}
        error += "."
    return SyncStatus(used_for_busy=used, synced=synced, error=error)


# --- pushed events, for Setup and operators -------------------------------------------------------


@dataclass(frozen=True)
class FailedPush:
    """A booking that could not be put in (or taken out of) a calendar."""

    pk: int
    subject: str
    start: datetime
    calendar_name: str
    wanted: bool  # False: the event should have been removed
    error: str


def pushes_failed_for(*, connection: CalendarConnection | None) -> list[FailedPush]:
    """The failed pushes into ``connection``'s calendars, soonest event first.

    Only the account Setup shows: rows left behind in an account the host switched
    away from can never go out, and are not the host's to retry.
    """
    if connection is None:
        return []
    rows = PushedEvent.objects.filter(
        calendar__connection=connection, state=PushState.FAILED
    ).select_related("calendar")
    failed = []
    for row in rows:
        event = EventDescription.from_json(row.payload)
        error = error_shown(row.last_error) or _("It could not be sent")
        failed.append(
            FailedPush(
                pk=row.pk,
                subject=event.subject,
                start=event.start,
                calendar_name=row.calendar.name,
                wanted=row.wanted,
                error=error[0].upper() + error[1:],
            )
        )
    return sorted(failed, key=lambda push: push.start)


def pushes_unsettled_count(*, connection: CalendarConnection | None) -> int:
    """How many pushes into ``connection``'s calendars are on their way (pending or waiting).

    For a disconnected account: what goes out when the host reconnects it (bookings made
    meanwhile have their rows there too, ``booking.selectors.target_calendars_for``).
    """
    if connection is None:
        return 0
    return PushedEvent.objects.filter(
        calendar__connection=connection, state__in=(PushState.PENDING, PushState.WAITING)
    ).count()


@dataclass(frozen=True)
class ConnectionStatusLine:
    connection: CalendarConnection
    busy_calendars: int  # calendars some page reads for busy time
    last_synced_at: datetime | None  # the stalest of those; None if one never synced
    sync_errors: int  # of those, how many failed at their last sync
    pending: int
    waiting: int
    failed: int


def connection_status_lines() -> list[ConnectionStatusLine]:
    """Every connection with its sync and push counts (for ``manage.py calendar_status``).

    A connection is only as synced as its stalest busy calendar: one calendar that keeps
    failing must not hide behind another that syncs.
    """
    busy = Q(calendars__is_active=True, calendars__busy_horizon_days__gt=0)
    connections = (
        CalendarConnection.objects.select_related("host")
        .annotate(
            busy_calendars=Count("calendars", filter=busy),
            never_synced=Count("calendars", filter=busy & Q(calendars__last_synced_at=None)),
            stalest_sync=Min("calendars__last_synced_at", filter=busy),
            sync_errors=Count("calendars", filter=busy & ~Q(calendars__last_sync_error="")),
        )
        .order_by("pk")
    )
    counts = {
        row["calendar__connection_id"]: row
        for row in PushedEvent.objects.values("calendar__connection_id").annotate(
            pending=Count("pk", filter=Q(state=PushState.PENDING)),
            waiting=Count("pk", filter=Q(state=PushState.WAITING)),
            failed=Count("pk", filter=Q(state=PushState.FAILED)),
        )
    }
    lines = []
    for connection in connections:
        count = counts.get(connection.pk, {})
        pending, waiting = count.get("pending", 0), count.get("waiting", 0)
        if not connection.is_connected:
            # Pending pushes of a lost account cannot go out either: they go on reconnect.
            pending, waiting = 0, pending + waiting
        lines.append(
            ConnectionStatusLine(
                connection=connection,
                busy_calendars=connection.busy_calendars,
                last_synced_at=None if connection.never_synced else connection.stalest_sync,
                sync_errors=connection.sync_errors,
                pending=pending,
                waiting=waiting,
                failed=count.get("failed", 0),
            )
        )
    return lines


# --- change notifications, for Setup ---------------------------------------------------------


def live_updates_words(status, *, provider, time_zone: str) -> str:
    """A ``NotificationStatus`` (``calendars.services.subscriptions``) as one sentence."""
    zone = ZoneInfo(time_zone)
    every = max(1, settings.CALENDAR_SYNC_INTERVAL // 60)
    if status.state == "live":
        until = timezone.localtime(status.until, zone)
        return _(
            "Live updates are on: changes in %(name)s reach your booking pages within "
            "seconds (renewed automatically; current until %(until)s)."
        ) % {"name": provider.name, "until": date_format(until, _("d M H:i"))}
    if status.state == "off":
        return _("Live updates are off: %(reason)s. Busy time is read every %(every)s minutes.") % {
            "reason": status.reason,
            "every": every,
        }
    if status.state == "failing":
        text = _(
            "Live updates are not working: %(reason)s. Busy time is read every %(every)s "
            "minutes meanwhile"
        ) % {"reason": status.reason, "every": every}
        if status.retry_at is not None:
            at = timezone.localtime(status.retry_at, zone)
            text += _("; we'll try again at %(at)s") % {"at": f"{at:%H:%M}"}
        return text + "."
    return _("Live updates start with the next busy-time sync.")
