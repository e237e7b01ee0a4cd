"""How booked times read to people: wall-clock time, told apart when clocks go back."""

from __future__ import annotations

from datetime import datetime

MINUS = "\u2212"  # the minus sign, as the zone picker writes it; not a hyphen


def clock_text(local: datetime) -> str:
    """``local`` (aware, in the reader's zone) as HH:MM.

    On the day clocks go back the same HH:MM happens twice; then its UTC offset
    follows as the booking page shows it, e.g. "02:00 (UTC+10)" or "01:30 (UTC+10:30)".
    """
    return f"{local:%H:%M}{repeated_offset(local)}"


def repeated_offset(local: datetime) -> str:
    """ " (UTC\u22124)" when the wall time of ``local`` happens twice that day (clocks go
    back), else "": what tells the two apart, after the time."""
    if local.replace(fold=1 - local.fold).utcoffset() == local.utcoffset():
        return ""
    return f" ({offset_text(local)})"


def offset_text(local: datetime) -> str:
    """ "UTC+10", "UTC\u22124" (a minus sign), "UTC+5:30", "UTC" for none: the UTC offset of
    ``local``, hours without zeros. Every page and email writes an offset this way, and
    the browser's ``ScheduleOnce.offsetText`` (static/js/zone_picker.js) the same."""
    seconds = int(local.utcoffset().total_seconds())
    if abs(seconds) < 60:
        return "UTC"
    hours, rest = divmod(abs(seconds) // 60, 60)  # an old zone's seconds are dropped
    sign = "+" if seconds > 0 else MINUS
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")
