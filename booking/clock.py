"""How booked times read to people: wall-clock time, told apart when clocks go back."""

from __future__ import annotations

from datetime import datetime


def clock_text(local: datetime) -> str:
    """``local`` (aware, in the reader's zone) as HH:MM.

    On the day clocks go back the same HH:MM happens twice; then its UTC offset
    follows as the booking page shows it, e.g. "02:00 (UTC+10)" or "01:30 (UTC+10:30)".
    """
    text = f"{local:%H:%M}"
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        text += f" ({offset_text(local)})"
    return text


def offset_text(local: datetime) -> str:
    """ "UTC+10", "UTC-4", "UTC+5:30": the UTC offset of ``local``, hours without zeros."""
    offset = local.strftime("%z")  # "+1000", "-0400", "+0530"
    minutes = f":{offset[3:5]}" if offset[3:5] != "00" else ""
    return f"UTC{offset[0]}{int(offset[1:3])}{minutes}"
