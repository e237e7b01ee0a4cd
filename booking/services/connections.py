"""booking's answer to a calendar connection: pages get a usable main booking calendar."""

from __future__ import annotations

from booking.models import BookingPage
from booking.selectors import pages_needing_main_calendar
from calendars.models import Calendar, CalendarConnection


def pages_assign_main_calendar(*, connection: CalendarConnection) -> list[BookingPage]:
    """Give the connection's default calendar to the host's pages that lack a usable main one."""
    default = (
        Calendar.objects.filter(connection=connection, is_active=True, can_edit=True)
        .order_by("-is_default", "name", "pk")
        .first()
    )
    if default is None or not connection.is_connected:
        return []
    changed = []
    for page in pages_needing_main_calendar(host=connection.host):
        page.main_calendar = default
        page.save(update_fields=["main_calendar", "updated_at"])
        changed.append(page)
    return changed
