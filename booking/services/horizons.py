"""How far ahead each of a host's calendars is read for busy time, kept in one place.

``Calendar.busy_horizon_days`` (in calendars, which never imports booking) is derived
from the host's active pages: for each calendar some active page reads busy time
from (its main calendar and those marked *Retrieve busy time*), the longest horizon
among those pages; 0 means "not read". It follows every change by itself: every
page write is a page edit (``booking.services.pages._page_edit``), which ends by
recomputing it in the same transaction, and the receivers here recompute it when
calendars says a host's calendars or connection changed (``connect_receivers``,
from ``BookingConfig.ready``).
"""

from __future__ import annotations

from django.db import transaction

from booking.models import BookingPage
from booking.selectors import busy_calendars_for, member_busy_calendars
from booking.services.locking import host_lock
from calendars import signals as calendar_signals
from calendars.services.busy_sync import busy_horizons_set


def busy_horizons_update(*, host) -> None:
    """Tell calendars which of the host's calendars active pages read busy time from, and
    how many days ahead (the longest horizon among those pages); a sync is queued for
    calendars that became needed. Page edits and the receivers below call it; call it
    yourself only after changing pages some other way (e.g. ``QuerySet.update``).

    The host's lock, held to the end of the caller's transaction, makes two concurrent
    page edits take turns: the second reads the pages only once the first has committed,
    so it cannot write back horizons computed without the first one's change.
    """
    with transaction.atomic():
        host_lock(host.pk)
        horizons: dict[int, int] = {}
        for page in BookingPage.objects.filter(host=host, is_active=True):
            for calendar in busy_calendars_for(page=page):
                horizons[calendar.pk] = max(horizons.get(calendar.pk, 0), page.horizon_days)
        # Team pages the host is a member of read the default calendar of their account.
        team_pages = BookingPage.objects.filter(team_members__user=host, is_active=True)
        longest = max((page.horizon_days for page in team_pages), default=0)
        if longest:
            for calendar in member_busy_calendars(user_ids=[host.pk])[host.pk]:
                if calendar.is_default:
                    horizons[calendar.pk] = max(horizons.get(calendar.pk, 0), longest)
        busy_horizons_set(host=host, horizons=horizons)


def _calendars_changed(sender, *, connection, **kwargs) -> None:
    busy_horizons_update(host=connection.host)


def connect_receivers() -> None:
    """Recompute when calendars changes a host's calendars (called once, at start-up)."""
    calendar_signals.calendars_changed.connect(
        _calendars_changed, dispatch_uid="booking.horizons.calendars_changed"
    )
    calendar_signals.connection_established.connect(
        _calendars_changed, dispatch_uid="booking.horizons.connection_established"
    )
