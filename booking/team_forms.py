"""Forms of Setup → Team: invitations, roles, the organization, team pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from accounts.validators import validate_one_line
from booking.models import MAX_SLUG_LENGTH, HoursSource, TeamKind, slug_format, validate_slug
from booking.services.pages import unique_slug
from booking.services.teams import Seat
from scheduleonce.forms import FocusFirstMistake


class InviteForm(FocusFirstMistake, forms.Form):
    email = forms.EmailField(max_length=254, label=_("Email address"))
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER, label=_("Role"))


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices, label=_("Role"))


class OrganizationForm(FocusFirstMistake, forms.Form):
    # One line: it is in the invitation email's subject.
    name = forms.CharField(
        max_length=150, label=_("Organization name"), validators=[validate_one_line]
    )
    require_two_factor = forms.BooleanField(
        required=False,
        label=_("Require two-factor sign-in"),
        help_text=_(
            "Everyone in the organization then signs in with an authenticator app code "
            "(TOTP) or a recovery code, and is asked to set one up first."
        ),
    )


class TeamPageForm(FocusFirstMistake, forms.Form):
    """A team page's kind, title, link and length, and a row per member of the organization
    (take part, priority, weight)."""

    # One line: it is in the subject of every booking email of the page.
    title = forms.CharField(max_length=120, label=_("Title"), validators=[validate_one_line])
    slug = forms.CharField(
        max_length=MAX_SLUG_LENGTH,
        label=_("Public link"),
        validators=[slug_format, validate_slug],
        required=False,  # left empty: made from the title, as on a host's own page
        help_text=_(
            "Leave empty to make one from the title. Lowercase letters, digits and hyphens."
        ),
    )
    kind = forms.ChoiceField(choices=TeamKind.choices, label=_("Kind"))
    duration_minutes = forms.IntegerField(
        min_value=5, max_value=12 * 60, initial=30, label=_("Meeting duration (minutes)")
    )
    hours_source = forms.ChoiceField(
        choices=HoursSource.choices,
        initial=HoursSource.PAGE,
        required=False,  # left out: the page's hours
        label=_("Hours"),
        help_text=_(
            "The page's hours are edited under Booking pages; each member sets their own "
            "under Working hours."
        ),
    )

    def __init__(self, *args, members, with_page_fields: bool = True, initial_seats=None, **kwargs):
        super().__init__(*args, **kwargs)
        if not with_page_fields:
            for name in ("title", "slug", "kind", "duration_minutes"):
                del self.fields[name]
        self.members = list(members)
        seats = initial_seats or {}
        for membership in self.members:
            user = membership.user
            seat = seats.get(user.pk)
            self.fields[f"member_{user.pk}"] = forms.BooleanField(
                required=False, label=user.get_full_name(), initial=seat is not None
            )
            self.fields[f"priority_{user.pk}"] = forms.IntegerField(
                min_value=0,
                max_value=100,
                initial=seat.priority if seat else 0,
                label=_("Priority"),
            )
            self.fields[f"weight_{user.pk}"] = forms.IntegerField(
                min_value=1, max_value=100, initial=seat.weight if seat else 1, label=_("Weight")
            )

    def member_rows(self):
        for membership in self.members:
            pk = membership.user.pk
            yield membership, self[f"member_{pk}"], self[f"priority_{pk}"], self[f"weight_{pk}"]

    def seats(self) -> list[Seat]:
        data = self.cleaned_data
        return [
            Seat(
                user_id=m.user.pk,
                priority=data[f"priority_{m.user.pk}"],
                weight=data[f"weight_{m.user.pk}"],
            )
            for m in self.members
            if data.get(f"member_{m.user.pk}")
        ]

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"].strip().lower()
        return slug or unique_slug(self.data.get("title", "") or "meeting")

    def clean_hours_source(self) -> str:
        return self.cleaned_data.get("hours_source") or HoursSource.PAGE

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not self.seats():
            raise forms.ValidationError(_("Choose at least one member."))
        return cleaned
