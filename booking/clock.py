"""How booked times read to people: wall-clock time, told apart when clocks go back."""

from __future__ import annotations

from datetime import datetime


def clock_text(local: datetime) -> str:
    """``local`` (aware, in the reader's zone) as HH:MM.

    On the day clocks go back the same HH:MM happens twice; then its UTC offset
    follows, e.g. "02:00 (UTC+10:00)".
    """
    text = f"{local:%H:%M}"
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        text += f" (UTC{local.isoformat(timespec='minutes')[-6:]})"
    return text
