from __future__ import annotations

from django import forms

from calendars.constants import REMINDER_CHOICES


def _to_minutes(value: str) -> int | None:
    return int(value) if value not in ("", None) else None


class ReminderForm(forms.Form):
    """The connection's default reminder, sent with every event pushed to the calendar."""

    reminder = forms.TypedChoiceField(
        label="Default reminder for Office 365 events",
        choices=[
            ("" if minutes is None else str(minutes), label) for minutes, label in REMINDER_CHOICES
        ],
        coerce=_to_minutes,
        empty_value=None,
        required=False,
        help_text="Sent with every booking added to your calendar.",
    )
