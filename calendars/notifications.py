"""Emails to hosts about their calendar connection (plain text and HTML)."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from calendars.models import CalendarConnection
from calendars.providers import get_provider
from ops.mail import Email

logger = logging.getLogger(__name__)


def lobby_url() -> str:
    """The absolute address of Setup → Integration → Calendar integration."""
    return settings.SITE_URL + reverse("calendars:integration")


def _send(*, connection: CalendarConnection, template: str, context: dict) -> None:
    host = connection.host
    context = {
        "host": host,
        "connection": connection,
        "provider_name": get_provider(connection.provider).name,
        "reconnect_url": lobby_url(),
        "site_name": "ScheduleOnce",
        **context,
    }
    # Hosts read these in their Profile language (English when they chose none).
    with timezone.override(host.time_zone), translation.override(host.language or "en"):
        subject = render_to_string(f"calendars/email/{template}_subject.txt", context)
        text = render_to_string(f"calendars/email/{template}.txt", context)
        html = render_to_string(f"calendars/email/{template}.html", context)
    message = Email(subject=" ".join(subject.split()), body=text, to=[host.email])
    message.attach_alternative(html, "text/html")
    message.send()
    logger.info("Sent %s email for calendar connection %s", template, connection.pk)


def send_expiry_warning(*, connection: CalendarConnection, now: datetime) -> None:
    """Tell the host the sign-in expires soon and how to renew it."""
    remaining = connection.refresh_expires_at - now
    _send(
        connection=connection,
        template="expiry_warning",
        context={"days_left": max(1, round(remaining.total_seconds() / 86400))},
    )


def send_disconnected(*, connection_id: int) -> None:
    """Tell the host the connection stopped working and how to reconnect (sent once)."""
    connection = CalendarConnection.objects.select_related("host").get(pk=connection_id)
    try:
        _send(connection=connection, template="disconnected", context={})
    except OSError:
        # The connection is disconnected either way; the banner still tells the host.
        logger.exception("Could not email host about disconnected connection %s", connection_id)
