"""Validation of what invitees send: the slots query, the booking request, cancel/reschedule.

Every bad input becomes a field message here; views turn them into a 400 answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django import forms
from django.forms.forms import DeclarativeFieldsMetaclass
from django.utils.translation import gettext_lazy as _

from accounts.timezones import is_time_zone
from accounts.validators import validate_one_line
from booking.locales import normalize_locale
from booking.models import Question, QuestionKind

MAX_RANGE_DAYS = 62
MAX_ANSWER_LENGTH = 1000
PHONE_PATTERN = re.compile(r"^\+?[0-9 ()./-]{5,30}$")
ISO_DATE = "%Y-%m-%d"
DATE_MESSAGE = "Use a date in the form YYYY-MM-DD."


def clean_time_zone(value: str) -> str:
    value = value.strip()
    if not is_time_zone(value):
        raise forms.ValidationError("Unknown time zone; use an IANA name such as Europe/London.")
    return value


def parse_start(value: str) -> datetime:
    """An ISO-8601 date and time with a UTC offset, e.g. 2026-03-02T09:30:00+01:00.

    The moment must also be representable in UTC (year 1 to 9999 there).
    """
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise forms.ValidationError(
            "Use an ISO-8601 date and time with an offset, e.g. 2026-03-02T09:30:00+01:00."
        )
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise forms.ValidationError("Include the UTC offset, e.g. +01:00 or Z.")
    try:
        moment.astimezone(UTC)
    except OverflowError:
        raise forms.ValidationError("That date is out of range.")
    return moment


class _SharedFields(dict):
    """A form class's fields that its instances share: copied into each instance's own
    ``fields`` dict, the fields themselves not deep-copied as Django does for every form
    (its fields, widgets, error messages and validators: about 300 calls per form)."""

    def __deepcopy__(self, memo: dict) -> dict:
        return dict(self)


class _SharedFieldsMetaclass(DeclarativeFieldsMetaclass):
    def __new__(mcs, name, bases, attrs):
        new_class = super().__new__(mcs, name, bases, attrs)
        new_class.base_fields = _SharedFields(new_class.base_fields)
        return new_class


class ValidatingForm(forms.Form, metaclass=_SharedFieldsMetaclass):
    """A form that only checks what a client sent (a query, an API's JSON body): never
    rendered, and none of its fields changed per instance, so its instances share the
    class's fields instead of deep-copying them. A form that sets a field's choices,
    widget or ``required`` in ``__init__`` is a ``forms.Form``; one that adds or removes
    fields may stay (each instance has its own ``fields`` dict)."""


class SlotsQueryForm(ValidatingForm):
    """``start`` and ``end`` are whole days in ``tz``; ``end`` is included.

    ``reschedule`` (optional) is the signed token of a booking being moved, as in its
    reschedule link; the view checks what it names.
    """

    start = forms.DateField(input_formats=[ISO_DATE], error_messages={"invalid": DATE_MESSAGE})
    end = forms.DateField(input_formats=[ISO_DATE], error_messages={"invalid": DATE_MESSAGE})
    tz = forms.CharField(max_length=64)
    reschedule = forms.CharField(
        required=False,
        max_length=200,
        error_messages={"max_length": "This reschedule link is not valid."},
    )

    def clean_tz(self) -> str:
        return clean_time_zone(self.cleaned_data["tz"])

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", "The end date is before the start date.")
            elif (end - start).days + 1 > MAX_RANGE_DAYS:
                self.add_error("end", f"Ask for at most {MAX_RANGE_DAYS} days at a time.")
        return data


class StartField(forms.CharField):
    def __init__(self, **kwargs):
        super().__init__(max_length=64, **kwargs)

    def clean(self, value):
        return parse_start(super().clean(value))


class BookingRequestForm(ValidatingForm):
    """The booking API's body (answers are checked against the page by ``clean_answers``)."""

    start = StartField()
    name = forms.CharField(max_length=150, validators=[validate_one_line])
    email = forms.EmailField(max_length=254)
    timezone = forms.CharField(max_length=64)
    # Optional: "en-US", "de-DE"; else the request's (Accept-Language and the page's language).
    locale = forms.CharField(max_length=16, required=False)

    def __init__(self, *args, questions: Sequence[Question] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = list(questions)

    def clean_timezone(self) -> str:
        return clean_time_zone(self.cleaned_data["timezone"])

    def clean_locale(self) -> str:
        raw = self.cleaned_data["locale"]
        if not raw:
            return ""
        locale = normalize_locale(raw)
        if locale is None:
            raise forms.ValidationError(
                _("Unknown or unsupported locale; send one such as en-US, en-GB or de-DE.")
            )
        return locale

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for key, value in self.data.items():
            if key in self.fields and value is not None and not isinstance(value, str):
                self.add_error(key, "Must be a string.")
        data["answers"] = self._clean_answers(self.data.get("answers"))
        return data

    def _clean_answers(self, raw: object) -> list[dict[str, str]]:
        """The answers as [{"question": label, "answer": text}] in question order."""
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            self._extra_error(
                "answers", 'Send answers as an object of question id to text, e.g. {"12": "Acme"}.'
            )
            return []
        known = {str(q.pk): q for q in self.questions}
        unknown = sorted(set(map(str, raw)) - set(known))
        if unknown:
            self._extra_error("answers", f"Unknown question id(s): {', '.join(unknown)[:200]}.")
        answers = []
        for key, question in known.items():
            value = raw.get(key)
            value = "" if value is None else value
            message = _answer_problem(question, value)
            if message:
                self._extra_error(f"answers.{key}", message)
                continue
            answers.append({"question": question.label, "answer": value.strip()})
        return answers

    def _extra_error(self, key: str, message: str) -> None:
        """An error under a key that is not a form field (``answers``, ``answers.<id>``)."""
        self._errors.setdefault(key, self.error_class()).append(message)


def _answer_problem(question: Question, value: object) -> str | None:
    """What is wrong with one answer, in the request's language (the booking page shows
    it under the question), or None."""
    if not isinstance(value, str):
        return "Must be a string."
    if "\x00" in value:
        return "Remove the null character."
    value = value.strip()
    if not value:
        return str(_("This question is required.")) if question.required else None
    if len(value) > MAX_ANSWER_LENGTH:
        return _("Keep it under %(count)s characters.") % {"count": MAX_ANSWER_LENGTH}
    if question.kind == QuestionKind.CHOICE and value not in question.options:
        return str(_("Choose one of the offered options."))
    if question.kind == QuestionKind.PHONE and (
        not PHONE_PATTERN.match(value) or sum(c.isdigit() for c in value) < 5
    ):
        return str(_("Enter a phone number, e.g. +44 20 7946 0958."))
    return None


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for cancelling (optional)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class RescheduleForm(forms.Form):
    start = StartField(widget=forms.HiddenInput)


def horizon_clamp(*, first, last, today, horizon_days: int):
    """Limit a day range to what any page could offer (and datetime can represent)."""
    first = max(first, today - timedelta(days=2))
    last = min(last, today + timedelta(days=horizon_days + 2))
    return first, last
