"""``{% calendar_sync_status calendar as sync %}``: a calendar's busy-time sync in words.

Reads only the calendar's own fields (no queries); times are shown in the
logged-in host's time zone. ``{{ push.last_error|provider_error }}``: a kept failure in
the reader's language (``calendars.error_text.error_shown``).
"""

from __future__ import annotations

from django import template

from calendars.error_text import error_shown
from calendars.selectors import SyncStatus, calendar_sync_status

register = template.Library()


@register.simple_tag(takes_context=True, name="calendar_sync_status")
def calendar_sync_status_tag(context, calendar) -> SyncStatus:
    user = context.get("user")
    time_zone = getattr(user, "time_zone", "") or "UTC"
    return calendar_sync_status(calendar=calendar, time_zone=time_zone)


@register.filter
def provider_error(stored: str) -> str:
    return error_shown(stored or "")
