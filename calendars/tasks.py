"""Celery tasks of the calendar integration: thin wrappers that take ids and call services.

Beat runs ``keep_connections_alive`` daily and ``check_connection_expiry`` hourly
(settings.CELERY_BEAT_SCHEDULE). Every task is safe to run twice.
"""

from __future__ import annotations

import logging

from celery import shared_task

from calendars.models import CalendarConnection, ConnectionStatus
from calendars.providers import ProviderError
from calendars.services.expiry import (
    check_expiry,
    connection_keep_alive,
    connections_due_for_keepalive,
)

logger = logging.getLogger(__name__)

KEEPALIVE_RETRY_SECONDS = 15 * 60


@shared_task(name="calendars.tasks.keep_connections_alive", ignore_result=True)
def keep_connections_alive() -> int:
    """Queue one keep-alive per connection whose refresh token is due; returns the count."""
    ids = list(connections_due_for_keepalive().values_list("pk", flat=True))
    for connection_id in ids:
        keep_connection_alive.delay(connection_id)
    return len(ids)


@shared_task(
    name="calendars.tasks.keep_connection_alive", bind=True, max_retries=8, ignore_result=True
)
def keep_connection_alive(self, connection_id: int) -> bool:
    """Refresh one connection's sign-in if still due; retry later on a temporary failure."""
    connection = CalendarConnection.objects.filter(
        pk=connection_id, status=ConnectionStatus.CONNECTED
    ).first()
    if connection is None:
        return False
    try:
        return connection_keep_alive(connection=connection)
    except ProviderError as error:
        if error.permanent:
            return False  # already disconnected, and the host was told
        logger.warning("Keep-alive of connection %s failed: %s", connection_id, error.code)
        raise self.retry(countdown=error.retry_after or KEEPALIVE_RETRY_SECONDS) from None


@shared_task(name="calendars.tasks.check_connection_expiry", ignore_result=True)
def check_connection_expiry() -> dict[str, list[int]]:
    """Disconnect expired connections and send due expiry warnings."""
    expired, warned = check_expiry()
    return {"expired": expired, "warned": warned}
