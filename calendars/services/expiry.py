"""The 90-day sign-in lifetime: keep-alive, warnings before expiry, and expiry itself."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from calendars import notifications
from calendars.models import CalendarConnection, ConnectionStatus, DisconnectReason
from calendars.services.connections import connection_disconnect
from calendars.services.tokens import access_token_for

logger = logging.getLogger(__name__)


def connections_due_for_keepalive(*, now: datetime | None = None):
    """Connected accounts whose refresh token is older than CALENDAR_KEEPALIVE_AFTER_DAYS."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.CALENDAR_KEEPALIVE_AFTER_DAYS)
    return CalendarConnection.objects.live().filter(
        Q(refresh_issued_at__lte=cutoff) | Q(refresh_issued_at__isnull=True)
    )


def connection_keep_alive(*, connection: CalendarConnection, now: datetime | None = None) -> bool:
    """Refresh the sign-in if it is due; returns True when a refresh happened.

    Idempotent: a connection refreshed since it was selected is left alone. Raises
    ProviderError (permanent ones have already disconnected the connection).
    """
    now = now or timezone.now()
    if not connections_due_for_keepalive(now=now).filter(pk=connection.pk).exists():
        return False
    access_token_for(connection=connection, force_refresh=True, now=now)
    logger.info("Kept calendar connection %s alive", connection.pk)
    return True


def connections_expire_due(*, now: datetime | None = None) -> list[int]:
    """Disconnect every connection whose sign-in has expired; returns their ids."""
    now = now or timezone.now()
    expired = []
    due = CalendarConnection.objects.live().filter(refresh_expires_at__lte=now)
    for connection in due:
        # The host may have reconnected (or the keep-alive slid the expiry) since the
        # list was read: the date is checked again under the row lock.
        if connection_disconnect(
            connection=connection,
            reason=DisconnectReason.EXPIRED,
            condition=Q(refresh_expires_at__lte=now),
        ):
            expired.append(connection.pk)
    return expired


def warning_threshold(*, expires_at: datetime, now: datetime) -> int | None:
    """The most urgent warning (days before expiry) that is due at ``now``, if any."""
    due = [
        days
        for days in settings.CALENDAR_EXPIRY_WARNING_DAYS
        if now >= expires_at - timedelta(days=days)
    ]
    return min(due) if due else None


def connections_to_warn(*, now: datetime | None = None):
    now = now or timezone.now()
    horizon = now + timedelta(days=max(settings.CALENDAR_EXPIRY_WARNING_DAYS, default=0))
    return CalendarConnection.objects.live().filter(
        refresh_expires_at__gt=now,
        refresh_expires_at__lte=horizon,
    )


def connection_warn_expiry(
    *, connection: CalendarConnection, now: datetime | None = None
) -> int | None:
    """Email the host once per warning threshold; returns the threshold sent, if any.

    The threshold is claimed with a conditional UPDATE in the same transaction as
    the email, so running twice (or in two workers) sends one email.
    """
    now = now or timezone.now()
    if connection.refresh_expires_at is None:
        return None
    days = warning_threshold(expires_at=connection.refresh_expires_at, now=now)
    if days is None:
        return None
    with transaction.atomic():
        claimed = (
            CalendarConnection.objects.filter(
                pk=connection.pk,
                status=ConnectionStatus.CONNECTED,
                refresh_expires_at=connection.refresh_expires_at,
            )
            .filter(Q(expiry_warned_days__isnull=True) | Q(expiry_warned_days__gt=days))
            .update(expiry_warned_days=days)
        )
        if not claimed:
            return None
        connection.refresh_from_db()
        notifications.send_expiry_warning(connection=connection, now=now)
    return days


def check_expiry(*, now: datetime | None = None) -> tuple[list[int], list[int]]:
    """Expire what has expired, then warn what expires soon: (expired ids, warned ids)."""
    now = now or timezone.now()
    expired = connections_expire_due(now=now)
    warned = []
    for connection in connections_to_warn(now=now):
        try:
            if connection_warn_expiry(connection=connection, now=now) is not None:
                warned.append(connection.pk)
        except OSError:
            logger.exception("Could not email the expiry warning of connection %s", connection.pk)
    return expired, warned
