"""Storing a provider's calendar list, keeping the host's choices for calendars that remain."""

from __future__ import annotations

from datetime import datetime

from calendars.models import Calendar, CalendarConnection
from calendars.providers.base import CalendarList

# Setup names the skipped calendars; an account with more lists only these many.
SKIPPED_NAMES_KEPT = 50


def calendars_apply(
    *, connection: CalendarConnection, calendar_list: CalendarList, now: datetime
) -> bool:
    """Make the connection's calendars match ``calendar_list.owned``; returns True if changed.

    Calendars that still exist keep their rows (and so every choice made about them);
    vanished ones are marked inactive rather than deleted, so pushed-event records stay.
    Call inside a transaction.
    """
    existing = {calendar.remote_id: calendar for calendar in connection.calendars.all()}
    changed = False
    seen: set[str] = set()
    for remote in calendar_list.owned:
        seen.add(remote.remote_id)
        calendar = existing.get(remote.remote_id)
        wanted = {
            "name": remote.name[:255],
            "color": remote.color,
            "is_default": remote.is_default,
            "can_edit": remote.can_edit,
            "online_meetings": remote.online_meetings,
            "is_active": True,
        }
        if calendar is None:
            Calendar.objects.create(connection=connection, remote_id=remote.remote_id, **wanted)
            changed = True
        elif any(getattr(calendar, field) != value for field, value in wanted.items()):
            for field, value in wanted.items():
                setattr(calendar, field, value)
            calendar.save(update_fields=list(wanted))
            changed = True
    for remote_id, calendar in existing.items():
        if remote_id not in seen and (calendar.is_active or calendar.is_default):
            calendar.is_active = False
            calendar.is_default = False
            calendar.save(update_fields=["is_active", "is_default"])
            changed = True
    connection.calendars_skipped = len(calendar_list.skipped)
    connection.calendars_skipped_names = [
        {"name": remote.name[:255], "owner": remote.owner_address[:254]}
        for remote in calendar_list.skipped[:SKIPPED_NAMES_KEPT]
    ]
    connection.calendars_refreshed_at = now
    connection.save(
        update_fields=[
            "calendars_skipped",
            "calendars_skipped_names",
            "calendars_refreshed_at",
            "updated_at",
        ]
    )
    return changed
