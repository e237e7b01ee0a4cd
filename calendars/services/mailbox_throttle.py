"""A mailbox the provider throttled: its busy calendars wait out the provider's Retry-After.

Microsoft throttles Outlook calls per app *and mailbox* ("Microsoft Graph
service-specific throttling limits": 10,000 requests per 10 minutes and 4 concurrent
requests "per app ID and mailbox combination"), and "limits any further requests from
that client app for some time", asking for the wait in ``Retry-After``; calls made
before it passed "accrue against your usage limits" (``graph/throttling``). So a push
throttled for a mailbox means its busy-time reads would be refused too: every busy
calendar of the mailbox (whichever host's connection reads it) is not read before
``Retry-After`` passed (``Calendar.sync_retry_at``, which the busy-time sync already
honours and asks to be run again at).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from calendars.models import Calendar, CalendarConnection, ConnectionStatus
from calendars.providers import ProviderError

# What a throttle looks like: 429, or a 503 that says when to come back.
THROTTLED_STATUSES = frozenset({429, 503})


def is_throttled(error: ProviderError) -> bool:
    """The provider throttled the call and said how long to wait."""
    return error.status in THROTTLED_STATUSES and bool(error.retry_after)


def mailbox_throttled(
    *, connection: CalendarConnection, error: ProviderError, now: datetime | None = None
) -> datetime | None:
    """Hold the busy calendars of ``connection``'s mailbox until ``error``'s Retry-After
    passed, when ``error`` is a throttle; returns until when (None: not a throttle).

    A later hold already in place is kept. Any worker, any connection to the mailbox.
    """
    if not is_throttled(error):
        return None
    until = (now or timezone.now()) + timedelta(seconds=float(error.retry_after or 0))
    Calendar.objects.filter(
        connection__provider=connection.provider,
        connection__account_id=connection.account_id,
        connection__status=ConnectionStatus.CONNECTED,
    ).filter(Q(sync_retry_at__isnull=True) | Q(sync_retry_at__lt=until)).update(sync_retry_at=until)
    return until
