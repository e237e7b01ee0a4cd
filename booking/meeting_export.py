"""Setup → Meetings → Export: the filtered meetings as CSV, streamed row by row.

Rows are read from the database in chunks (a server-side cursor on PostgreSQL) and
written out as they come, so memory stays flat however many meetings a host has. Cells
that a spreadsheet would read as a formula are neutralised (CSV injection). The file
starts with a UTF-8 byte order mark: without it Excel reads the file in the machine's
legacy code page and shows "ZoÃ«" for "Zoë"; other readers skip the mark.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from django.http import StreamingHttpResponse
from django.utils import timezone

from booking.meeting_selectors import MeetingFilters, meetings_for_export, question_labels_for
from booking.models import Booking

BYTE_ORDER_MARK = "\ufeff"
# A spreadsheet reads a cell starting with these as a formula (OWASP: CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FIXED_COLUMNS = (
    "start",
    "end",
    "booking page",
    "invitee name",
    "invitee email",
    "invitee time zone",
    "status",
    "location",
)
TRAILING_COLUMNS = ("booked at", "cancelled at", "cancel reason", "no-show")


def neutralise(value: str) -> str:
    """``value`` made safe to open in a spreadsheet: a leading formula character is quoted."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


class _Line:
    """A file-like target for csv.writer that hands back what was written."""

    def write(self, value: str) -> str:
        return value


def export_rows(
    *, user, filters: MeetingFilters, now: datetime | None = None
) -> Iterator[list[str]]:
    """The header, then one row per meeting in the list's order."""
    zone = ZoneInfo(user.time_zone)
    labels = question_labels_for(user=user, page_id=filters.page_id, hosts=filters.hosts)
    # Question labels are written by hosts, and an admin's export carries its members':
    # neutralised like every other cell someone else typed.
    yield [*FIXED_COLUMNS, *(neutralise(label) for label in labels), *TRAILING_COLUMNS]
    bookings = meetings_for_export(user=user, filters=filters, time_zone=user.time_zone, now=now)
    for booking in bookings:
        yield [neutralise(cell) for cell in _cells(booking, labels, zone)]


def _cells(booking: Booking, labels: list[str], zone: ZoneInfo) -> list[str]:
    answers = {item.get("question"): item.get("answer", "") for item in booking.answers}
    return [
        booking.start.astimezone(zone).isoformat(),
        booking.end.astimezone(zone).isoformat(),
        booking.page.title if booking.page is not None else booking.title,
        booking.invitee_name,
        booking.invitee_email,
        booking.invitee_time_zone,
        booking.status,
        booking.location_text,
        *(str(answers.get(label, "")) for label in labels),
        _time(booking.created_at, zone),
        _time(booking.cancelled_at, zone),
        booking.cancel_reason,
        "yes" if booking.no_show_at is not None else "",
    ]


def _time(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).isoformat(timespec="seconds") if moment else ""


def export_response(*, user, filters: MeetingFilters) -> StreamingHttpResponse:
    writer = csv.writer(_Line())
    rows = export_rows(user=user, filters=filters, now=timezone.now())
    lines = itertools.chain([BYTE_ORDER_MARK], (writer.writerow(row) for row in rows))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    stamp = timezone.now().astimezone(ZoneInfo(user.time_zone)).strftime("%Y-%m-%d")
    response["Content-Disposition"] = f'attachment; filename="meetings-{filters.tab}-{stamp}.csv"'
    return response
