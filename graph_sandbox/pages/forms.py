"""Forms of the people page: the window of days shown, and a busy event to add."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from graph_sandbox.models import Calendar

# Dates a window or an event may use: far from datetime's limits, which a time zone's
# offset or a window's length would otherwise cross.
DATE_RANGE = [MinValueValidator(date(1900, 1, 1)), MaxValueValidator(date(2999, 12, 31))]

SHOW_AS_CHOICES = [
    ("busy", "Busy"),
    ("tentative", "Tentative"),
    ("oof", "Away (out of office)"),
    ("workingElsewhere", "Working elsewhere"),
    ("free", "Free"),
]


class WindowForm(forms.Form):
    start = forms.DateField(
        label="From", widget=forms.DateInput(attrs={"type": "date"}), validators=DATE_RANGE
    )
    days = forms.IntegerField(label="Days", min_value=1, max_value=62, initial=14)


class BusyEventForm(forms.Form):
    calendar = forms.ModelChoiceField(
        queryset=Calendar.objects.none(), label="Calendar", empty_label=None
    )
    subject = forms.CharField(label="Subject", max_length=255, initial="Busy")
    date = forms.DateField(
        label="Date", widget=forms.DateInput(attrs={"type": "date"}), validators=DATE_RANGE
    )
    start_time = forms.TimeField(label="Starts", widget=forms.TimeInput(attrs={"type": "time"}))
    end_time = forms.TimeField(label="Ends", widget=forms.TimeInput(attrs={"type": "time"}))
    show_as = forms.ChoiceField(label="Show as", choices=SHOW_AS_CHOICES, initial="busy")
    repeat_weekly = forms.BooleanField(
        label="Repeat every week",
        required=False,
        help_text="A weekly series on this weekday, without an end date (like a stand-up).",
    )

    def __init__(self, *args, calendars, time_zone: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["calendar"].queryset = calendars
        self.fields["calendar"].label_from_instance = lambda calendar: calendar.name
        self.time_zone = time_zone
        self.fields["start_time"].help_text = f"In {time_zone}."

    def clean(self) -> dict:
        data = super().clean()
        if {"date", "start_time", "end_time"} <= data.keys():
            start, end = self.window()
            if end <= start:
                raise forms.ValidationError("The event must end after it starts.")
        return data

    def recurrence(self) -> dict | None:
        """Graph's ``patternedRecurrence`` for a weekly series, or None."""
        if not self.cleaned_data.get("repeat_weekly"):
            return None
        day = self.cleaned_data["date"]
        return {
            "pattern": {
                "type": "weekly",
                "interval": 1,
                "daysOfWeek": [day.strftime("%A").lower()],
            },
            "range": {"type": "noEnd", "startDate": day.isoformat()},
        }

    def window(self) -> tuple[datetime, datetime]:
        """Start and end as aware datetimes in the mailbox's time zone."""
        zone = ZoneInfo(self.time_zone)
        date = self.cleaned_data["date"]
        start = datetime.combine(date, self.cleaned_data["start_time"], tzinfo=zone)
        end_time: time = self.cleaned_data["end_time"]
        end = datetime.combine(date, end_time, tzinfo=zone)
        if end_time == time(0, 0):
            end += timedelta(days=1)  # "until midnight"
        return start, end
