"""``manage.py calendar_status``: one line per calendar connection, for operators.

    connection=3 host=alice@example.com account=alice@contoso.com status=connected
        refresh_expires=2026-04-01T10:15Z last_sync=2026-01-02T09:40Z (4 minutes ago)
        sync_errors=0 pending=2 waiting=0 failed=1 push=live until 2026-01-04T21:10Z

(on one line). ``last_sync`` is the stalest of the calendars read for busy time
("never" if one was never synced, "unused" if no page reads any); ``sync_errors``
counts those whose last sync failed. ``push`` is the account's change notifications:
``live until <expiry>``, ``pending`` (made at the next sync), ``failing(<why>)``,
``off(<why>)`` (``SITE_URL`` not public HTTPS, or turned off: polling only) or
``unused`` (no page reads its busy time, or disconnected). Times are UTC. Never prints
a token.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.management.base import BaseCommand
from django.utils import timezone

from calendars.selectors import connection_status_lines, time_ago
from calendars.services.subscriptions import notification_status_for


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ") if value else "never"


class Command(BaseCommand):
    help = "One line per calendar connection: host, status, refresh expiry, last sync, pushes."

    def handle(self, *args, **options) -> None:
        now = timezone.now()
        lines = connection_status_lines()
        if not lines:
            self.stdout.write("No calendar connections.")
            return
        for line in lines:
            connection = line.connection
            status = connection.status
            if connection.disconnect_reason and not connection.is_connected:
                status += f"({connection.disconnect_reason})"
            last_sync = _when(line.last_synced_at) if line.busy_calendars else "unused"
            if line.busy_calendars and line.last_synced_at:
                last_sync += f" ({time_ago(now - line.last_synced_at)})"
            self.stdout.write(
                f"connection={connection.pk} host={connection.host.email} "
                f"account={connection.account_email} status={status} "
                f"refresh_expires={_when(connection.refresh_expires_at)} "
                f"last_sync={last_sync} sync_errors={line.sync_errors} "
                f"pending={line.pending} waiting={line.waiting} failed={line.failed} "
                f"push={_push(line)}"
            )


def _push(line) -> str:
    busy = line.busy_calendars > 0 and line.connection.is_connected
    status = notification_status_for(connection=line.connection, busy=busy)
    if status.state == "live":
        return f"live until {_when(status.until)}"
    if status.state in ("off", "failing"):
        return f"{status.state}({status.reason})"
    return status.state
