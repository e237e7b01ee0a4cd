"""Forms of Setup → Meetings: the list's filters (from the URL) and the host's actions."""

from __future__ import annotations

from datetime import date

from django import forms
from django.utils.translation import gettext_lazy as _

from booking.meeting_selectors import HOSTS_EVERYONE, HOSTS_MINE, MeetingFilters, Tab

MAX_QUERY = 200
# The days whose midnights (and the midnight after) are moments in every time zone: the
# filters compare starts with them, and year 1 or 9999 would fall off Python's calendar.
FIRST_DAY, LAST_DAY = date(1, 1, 2), date(9999, 12, 30)


class MeetingFilterForm(forms.Form):
    """The list's query string: ``tab``, ``booking_page``, ``from``, ``to``, ``q``, and for an
    admin of a team ``host`` (``all``, or one member's id; left out: their own meetings)
    (and ``page``, the page of results, read by the view). Unknown pages, hosts and bad
    dates are errors (400)."""

    tab = forms.ChoiceField(
        choices=[(tab.value, tab.value) for tab in Tab], required=False, widget=forms.HiddenInput
    )
    booking_page = forms.TypedChoiceField(
        label=_("Booking page"), coerce=int, required=False, empty_value=None
    )
    # The label says what is searched; the placeholder stays short enough for a phone's
    # field ("Name oder E-Mail der eingeladenen Person" was cut off at 375 pixels).
    q = forms.CharField(
        label=_("Search invitees"),
        max_length=MAX_QUERY,
        required=False,
        strip=True,
        widget=forms.TextInput({"type": "search", "placeholder": _("Name or email")}),
    )

    def __init__(self, data, *, pages, hosts=(), **kwargs):
        super().__init__(data, **kwargs)
        if hosts:
            self.fields["host"] = forms.ChoiceField(
                label=_("Host"),
                required=False,
                choices=[(HOSTS_MINE, _("My meetings")), (HOSTS_EVERYONE, _("Everyone"))]
                + [(str(pk), name) for pk, name in hosts],
            )
        self.fields["booking_page"].choices = [("", _("All booking pages"))] + [
            (page.pk, page.title) for page in pages
        ]
        # Named as the URL names them ("from" is a Python keyword, so not a class attribute).
        for name, label in (("from", _("From")), ("to", _("To"))):
            self.fields[name] = forms.DateField(
                label=label, required=False, widget=forms.DateInput({"type": "date"})
            )
        self.order_fields(["q", "host", "booking_page", "from", "to", "tab"])

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("from"), cleaned.get("to")
        for name, day in (("from", start), ("to", end)):
            if day and not FIRST_DAY <= day <= LAST_DAY:
                self.add_error(name, _("That date is out of range."))
                return cleaned
        if start and end and end < start:
            self.add_error("to", _("The end date is before the start date."))
        return cleaned

    def filters(self) -> MeetingFilters:
        data = self.cleaned_data
        return MeetingFilters(
            tab=Tab(data.get("tab") or Tab.UPCOMING),
            page_id=data.get("booking_page"),
            date_from=data.get("from"),
            date_to=data.get("to"),
            query=data.get("q") or "",
            hosts=data.get("host") or HOSTS_MINE,
        )


class HostCancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (optional, sent to the invitee)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class AskRescheduleForm(forms.Form):
    note = forms.CharField(
        label=_("Note to the invitee (optional)"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
