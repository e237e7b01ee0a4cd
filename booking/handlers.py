"""Booking's answers to calendar events (registered in ``BookingConfig.ready``).

``calendars`` sends neutral signals and never imports ``booking``.
"""

from __future__ import annotations

import logging

from django.db import transaction

from booking.services import bookings_remirror, pages_assign_main_calendar
from calendars.models import CalendarConnection

log = logging.getLogger(__name__)


def on_calendars_changed(sender, *, connection: CalendarConnection, **kwargs) -> None:
    """Pages without a usable main booking calendar get the connection's default one."""
    with transaction.atomic():
        pages_assign_main_calendar(connection=connection)


def on_connection_established(
    sender, *, connection: CalendarConnection, new_account: bool = False, **kwargs
) -> None:
    """As above; for a different account also re-push every future booking to it."""
    with transaction.atomic():
        pages = pages_assign_main_calendar(connection=connection)
        count = bookings_remirror(host=connection.host) if new_account else 0
    log.info(
        "connection %s: main calendar set on %d page(s), %d booking(s) re-mirrored",
        connection.pk,
        len(pages),
        count,
    )
