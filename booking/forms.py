"""Setup forms: a booking page's basics, weekly hours, date overrides, questions, calendars.

``PageEditor`` bundles the page form and its three formsets, validates the whole
set of rules with the slot engine's ``Rules`` (so impossible rules are refused
with the engine's own message) and saves through ``booking.services``.
"""

from __future__ import annotations

import re
from datetime import time, timedelta

from django import forms
from django.forms import formset_factory
from django.utils.translation import gettext_lazy as _

from accounts.timezones import time_zone_choices
from accounts.validators import validate_one_line
from booking.locales import weekday_names
from booking.models import REMINDER_OFFSETS, WEEKDAYS, BookingPage, QuestionKind
from booking.services.pages import (
    DEFAULT_WEEKLY_HOURS,
    QuestionData,
    page_create,
    page_update,
    unique_slug,
)
from booking.slots import Rules, WorkingHours
from scheduleonce.forms import FocusFirstMistake

TIME_WIDGET = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
MAX_ROWS = 100
MAX_ID = 2**63 - 1  # the largest primary key (BigAutoField) a database holds


# An origin the Content-Security-Policy's frame-ancestors accepts: scheme, host (or a
# "*." wildcard subdomain), optional port; no path.
EMBED_ORIGIN = re.compile(
    r"^https?://(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
    r"(:[0-9]{1,5})?$"
)
MAX_EMBED_ORIGINS = 20


class PageForm(FocusFirstMistake, forms.ModelForm):
    time_zone = forms.ChoiceField(
        choices=time_zone_choices,
        label=_("Page time zone"),
        help_text=_("Hours below are in this zone."),
        # The zone picker of Profile and the booking page (static/js/zone_picker.js), which
        # keeps the page's zone rather than the browser's.
        widget=forms.Select(attrs={"data-zone-picker": "1"}),
    )
    reminder_offsets = forms.TypedMultipleChoiceField(
        label=_("Email reminders to invitees"),
        choices=REMINDER_OFFSETS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Sent in the invitee's time zone, with the join link and their cancel and "
            "reschedule links. None ticked: no reminders."
        ),
    )

    class Meta:
        model = BookingPage
        fields = [
            "title",
            "slug",
            "description",
            "duration_minutes",
            "increment_minutes",
            "time_zone",
            "buffer_before_minutes",
            "buffer_after_minutes",
            "minimum_notice_minutes",
            "horizon_days",
            "max_per_day",
            "block_tentative",
            "reminder_offsets",
            "location_kind",
            "location_details",
            "is_active",
            "embed_origins",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "embed_origins": forms.Textarea(
                attrs={"rows": 2, "autocapitalize": "none", "spellcheck": "false"}
            ),
        }
        help_texts = {
            "slug": _(
                "Lowercase letters, digits and hyphens. Changing it breaks links you shared."
            ),
            "increment_minutes": _("How far apart the offered start times are."),
            "minimum_notice_minutes": _("No booking starts sooner than this after now."),
            "max_per_day": _("Leave empty for no limit."),
            "embed_origins": _(
                "One address a line, such as https://www.example.com. Leave empty to let "
                "any site embed it. Setup and your account are never shown in frames."
            ),
            "block_tentative": _(
                "Events marked tentative in the calendars this page reads for busy time "
                "keep those times from being offered. Off: only busy, out-of-office and "
                "working-elsewhere events do."
            ),
        }
        labels = {
            "title": _("Title"),
            "description": _("Description"),
            "block_tentative": _("Tentative events block time"),
        }
        error_messages = {"slug": {"unique": _("That link is taken; choose another.")}}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["title"].validators.append(validate_one_line)
        # Words for the duration's choices (static/js/page_editor.js).
        self.fields["duration_minutes"].widget.attrs.update(
            {
                "data-minutes-label": _("%(n)s minutes"),
                "data-custom-label": _("Custom…"),
                "data-custom-aria": _("Custom duration in minutes"),
            }
        )
        self.fields["slug"].required = False
        self.fields["slug"].widget.attrs.update(
            {"autocapitalize": "none", "spellcheck": "false", "pattern": "[a-z0-9-]+"}
        )

    def clean_embed_origins(self) -> str:
        """Origins (scheme, host, optional port; ``*.`` for subdomains), one a line."""
        origins = []
        for raw in self.cleaned_data["embed_origins"].replace(",", " ").split():
            origin = raw.strip().rstrip("/").lower()
            if not EMBED_ORIGIN.match(origin):
                raise forms.ValidationError(
                    _("%(origin)s is not a site address such as https://www.example.com.")
                    % {"origin": raw[:100]}
                )
            if origin not in origins:
                origins.append(origin)
        if len(origins) > MAX_EMBED_ORIGINS:
            raise forms.ValidationError(
                _("At most %(count)s sites.") % {"count": MAX_EMBED_ORIGINS}
            )
        return "\n".join(origins)

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"].strip().lower()
        if not slug:
            title = self.data.get(self.add_prefix("title"), "") or "meeting"
            slug = unique_slug(title, exclude_pk=self.instance.pk)
        return slug


class HoursRowForm(FocusFirstMistake, forms.Form):
    weekday = forms.TypedChoiceField(choices=WEEKDAYS, coerce=int, widget=forms.HiddenInput)
    start = forms.TimeField(required=False, widget=TIME_WIDGET, label=_("From"))
    end = forms.TimeField(
        required=False, widget=TIME_WIDGET, label=_("To"), help_text=_("00:00 means midnight.")
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if (start is None) != (end is None) and not self.errors:
            raise forms.ValidationError(_("Give both a start and an end time."))
        if start is not None and end is not None and end != time(0) and end <= start:
            raise forms.ValidationError(_("The end must be after the start."))
        return data


class OverrideRowForm(FocusFirstMistake, forms.Form):
    date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label=_("Date")
    )
    closed = forms.BooleanField(required=False, label=_("Closed all day"))
    start = forms.TimeField(required=False, widget=TIME_WIDGET, label=_("From"))
    end = forms.TimeField(required=False, widget=TIME_WIDGET, label=_("To"))

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        day, closed, start, end = (data.get(k) for k in ("date", "closed", "start", "end"))
        if day is None:
            if closed or start or end:
                raise forms.ValidationError(_("Give the date."))
            return data
        if closed and (start or end):
            raise forms.ValidationError(_("A closed day has no hours; clear the times."))
        if not closed and (start is None or end is None):
            raise forms.ValidationError(_("Give both times, or tick “Closed all day”."))
        if start and end and end != time(0) and end <= start:
            raise forms.ValidationError(_("The end must be after the start."))
        return data


class QuestionRowForm(FocusFirstMistake, forms.Form):
    id = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID, widget=forms.HiddenInput)
    label = forms.CharField(required=False, max_length=200, label=_("Question"))
    kind = forms.ChoiceField(choices=QuestionKind.choices, label=_("Answer type"))
    required = forms.BooleanField(required=False, label=_("Required"))
    options = forms.CharField(
        required=False,
        label=_("Options (one per line)"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("For choice questions."),
    )

    def clean(self):
        data = super().clean()
        options = [line.strip() for line in data.get("options", "").splitlines() if line.strip()]
        data["options"] = options
        if data.get("label") and data.get("kind") == QuestionKind.CHOICE and len(options) < 2:
            raise forms.ValidationError(_("A choice question needs at least two options."))
        if any(len(option) > 200 for option in options):
            raise forms.ValidationError(_("Keep each option under 200 characters."))
        return data


HoursFormSet = formset_factory(
    HoursRowForm, extra=0, can_delete=True, max_num=MAX_ROWS, validate_max=True
)
OverridesFormSet = formset_factory(
    OverrideRowForm, extra=0, can_delete=True, max_num=MAX_ROWS, validate_max=True
)
QuestionsFormSet = formset_factory(
    QuestionRowForm, extra=0, can_delete=True, max_num=30, validate_max=True
)


class PageEditor:
    """The page form plus its hours, overrides and questions, validated together."""

    def __init__(self, *, host, page: BookingPage | None = None, data=None):
        self.host = host
        self.page = page
        instance = page or BookingPage(host=host, time_zone=host.time_zone)
        self.form = PageForm(data, instance=instance, prefix="page")
        # Bound rows are taken as sent: with initial values, a row equal to its initial
        # value would count as "unchanged" and be dropped.
        bound = data is not None
        self.hours = HoursFormSet(
            data, initial=None if bound else self._hours_initial(), prefix="hours"
        )
        self.overrides = OverridesFormSet(
            data, initial=None if bound else self._overrides_initial(), prefix="overrides"
        )
        self.questions = QuestionsFormSet(
            data, initial=None if bound else self._questions_initial(), prefix="questions"
        )
        self.rules_error = ""

    # --- initial rows -----------------------------------------------------------------

    def _hours_initial(self) -> list[dict]:
        if self.page is None:
            ranges = list(DEFAULT_WEEKLY_HOURS)
        else:
            ranges = [(h.weekday, h.start, h.end) for h in self.page.weekly_hours.all()]
        rows = [{"weekday": d, "start": s, "end": e} for d, s, e in ranges]
        # One empty row for each day without hours, so a day can be opened without script.
        open_days = {d for d, _, _ in ranges}
        rows += [{"weekday": d} for d, _ in WEEKDAYS if d not in open_days]
        return sorted(rows, key=lambda r: (r["weekday"], r.get("start") or time(23, 59)))

    def _overrides_initial(self) -> list[dict]:
        rows = []
        if self.page is not None:
            rows = [
                {"date": o.date, "closed": o.start is None, "start": o.start, "end": o.end}
                for o in self.page.date_overrides.all()
            ]
        return [*rows, {}]

    def _questions_initial(self) -> list[dict]:
        rows = []
        if self.page is not None:
            rows = [
                {
                    "id": q.pk,
                    "label": q.label,
                    "kind": q.kind,
                    "required": q.required,
                    "options": "\n".join(q.options),
                }
                for q in self.page.questions.all()
            ]
        return [*rows, {"kind": QuestionKind.TEXT}]

    # --- grouping for the template ------------------------------------------------------

    def days(self) -> list[dict]:
        """The hours rows grouped by weekday, Monday first."""
        names = weekday_names()
        groups = {d: {"weekday": d, "name": names[d], "rows": []} for d, _name in WEEKDAYS}
        for form in self.hours.forms:
            try:
                weekday = int(form["weekday"].value())
            except (TypeError, ValueError):
                continue
            if weekday in groups:
                groups[weekday]["rows"].append(form)
        return list(groups.values())

    # --- validation ----------------------------------------------------------------------

    def is_valid(self) -> bool:
        parts = [self.form, self.hours, self.overrides, self.questions]
        valid = all([part.is_valid() for part in parts])
        if not valid:
            return False
        try:
            self._rules()
        except ValueError as impossible:
            self.rules_error = str(impossible)
            return False
        return True

    def _live(self, formset) -> list[dict]:
        return [
            form.cleaned_data
            for form in formset.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]

    def hours_rows(self) -> list[tuple]:
        return [
            (row["weekday"], row["start"], row["end"])
            for row in self._live(self.hours)
            if row.get("start") is not None
        ]

    def override_rows(self) -> list[tuple]:
        rows = []
        for row in self._live(self.overrides):
            if row.get("date") is None:
                continue
            if row.get("closed"):
                rows.append((row["date"], None, None))
            else:
                rows.append((row["date"], row["start"], row["end"]))
        return rows

    def question_rows(self) -> list[QuestionData]:
        return [
            QuestionData(
                label=row["label"],
                kind=row["kind"],
                required=row.get("required", False),
                options=tuple(row["options"]) if row["kind"] == QuestionKind.CHOICE else (),
                pk=row.get("id"),
            )
            for row in self._live(self.questions)
            if row.get("label")
        ]

    def _rules(self) -> Rules:
        data = self.form.cleaned_data
        weekly: dict[int, list] = {}
        for weekday, start, end in self.hours_rows():
            weekly.setdefault(weekday, []).append((start, end))
        overrides: dict = {}
        closed = set()
        for day, start, end in self.override_rows():
            ranges = overrides.setdefault(day, [])
            if start is not None:
                ranges.append((start, end))
            else:
                closed.add(day)
        both = sorted(day for day in closed if overrides[day])
        if both:
            raise ValueError(
                _("%(day)s is closed all day and also has hours; remove one of them.")
                % {"day": both[0].isoformat()}
            )
        return Rules(
            time_zone=data["time_zone"],
            weekly_hours={d: sorted(r) for d, r in weekly.items()},
            date_overrides={d: sorted(r) for d, r in overrides.items()},
            duration=timedelta(minutes=data["duration_minutes"]),
            increment=timedelta(minutes=data["increment_minutes"]),
            buffer_before=timedelta(minutes=data["buffer_before_minutes"]),
            buffer_after=timedelta(minutes=data["buffer_after_minutes"]),
            minimum_notice=timedelta(minutes=data["minimum_notice_minutes"]),
            horizon_days=data["horizon_days"],
            max_per_day=data["max_per_day"],
        )

    # --- saving -------------------------------------------------------------------------

    def save(self) -> BookingPage:
        fields = {name: self.form.cleaned_data[name] for name in PageForm.Meta.fields}
        rules = {
            "hours": self.hours_rows(),
            "overrides": self.override_rows(),
            "questions": self.question_rows(),
        }
        if self.page is None:
            return page_create(host=self.host, fields=fields, **rules)
        return page_update(page=self.page, fields=fields, **rules)


class PageCalendarsForm(forms.Form):
    """Main booking calendar (radio) and, per other calendar, the two checkboxes."""

    def __init__(self, *args, page: BookingPage, calendars, **kwargs):
        super().__init__(*args, **kwargs)
        self.page = page
        self.calendars = list(calendars)
        uses = {use.calendar_id: use for use in page.calendar_uses.all()}
        self.fields["main_calendar"] = forms.TypedChoiceField(
            choices=[(c.pk, c.name) for c in self.calendars],
            coerce=int,
            widget=forms.RadioSelect,
            label=_("Main booking calendar"),
            initial=page.main_calendar_id,
        )
        for calendar in self.calendars:
            use = uses.get(calendar.pk)
            self.fields[f"busy_{calendar.pk}"] = forms.BooleanField(
                required=False,
                label=_("Retrieve busy time"),
                initial=bool(use and use.retrieve_busy),
            )
            self.fields[f"add_{calendar.pk}"] = forms.BooleanField(
                required=False, label=_("Add bookings"), initial=bool(use and use.add_bookings)
            )

    def rows(self) -> list[dict]:
        return [
            {
                "calendar": calendar,
                "busy": self[f"busy_{calendar.pk}"],
                "add": self[f"add_{calendar.pk}"],
                "is_main": str(self["main_calendar"].value()) == str(calendar.pk),
            }
            for calendar in self.calendars
        ]

    def main(self):
        chosen = self.cleaned_data["main_calendar"]
        return next(c for c in self.calendars if c.pk == chosen)

    def uses(self) -> dict[int, tuple[bool, bool]]:
        return {
            c.pk: (self.cleaned_data[f"busy_{c.pk}"], self.cleaned_data[f"add_{c.pk}"])
            for c in self.calendars
        }


class WorkingHoursEditor:
    """A person's own weekly working hours, with the booking page's hours rows (the same
    formset and template), checked by the slot engine's ``WorkingHours``."""

    def __init__(self, *, user, ranges: dict, data=None):
        self.user = user
        rows = [
            {"weekday": day, "start": start, "end": end}
            for day, day_ranges in ranges.items()
            for start, end in day_ranges
        ]
        open_days = set(ranges)
        rows += [{"weekday": d} for d, _name in WEEKDAYS if d not in open_days]
        rows.sort(key=lambda r: (r["weekday"], r.get("start") or time(23, 59)))
        self.hours = HoursFormSet(data, initial=None if data is not None else rows, prefix="hours")
        self.rules_error = ""

    days = PageEditor.days
    _live = PageEditor._live
    hours_rows = PageEditor.hours_rows

    def is_valid(self) -> bool:
        if not self.hours.is_valid():
            return False
        rows = self.hours_rows()
        if not rows:
            self.rules_error = str(_("Give at least one range of working hours."))
            return False
        weekly: dict[int, list] = {}
        for weekday, start, end in rows:
            weekly.setdefault(weekday, []).append((start, end))
        try:
            WorkingHours(time_zone=self.user.time_zone, weekly_hours=weekly)
        except ValueError as impossible:
            self.rules_error = str(impossible)
            return False
        return True
