"""Reads for the calendar integration's pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from calendars.models import CalendarConnection, ConnectionStatus, DisconnectReason
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


def connection_latest_for(*, host) -> CalendarConnection | None:
    """The live connection, or else the most recently disconnected one."""
    live = CalendarConnection.objects.filter(host=host, status=ConnectionStatus.CONNECTED).first()
    if live is not None:
        return live
    return (
        CalendarConnection.objects.filter(host=host)
        .order_by("-disconnected_at", "-updated_at")
        .first()
    )


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
            when = timezone.localtime(expires).strftime("%A %-d %B %Y, %H:%M")
        return [
            Banner(
                level="warning",
                message=(
                    f"Your {name} connection ({connection.account_email}) expires on {when}. "
                    "Reconnect to keep bookings arriving in your calendar."
                ),
                provider=connection.provider,
                account_email=connection.account_email,
            )
        ]
    if connection.disconnect_reason in (DisconnectReason.EXPIRED, DisconnectReason.REVOKED):
        return [
            Banner(
                level="error",
                message=(
                    f"Your {name} calendar ({connection.account_email}) is disconnected: "
                    f"{connection.get_disconnect_reason_display().lower()}. New bookings are not "
                    "added to your calendar and your busy time is not checked until you reconnect."
                ),
                provider=connection.provider,
                account_email=connection.account_email,
            )
        ]
    return []
