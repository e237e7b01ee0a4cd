"""Forms of Setup → Integration → Webhooks and Setup → Profile → API tokens."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.validators import validate_one_line
from integrations.models import TEAM_EVENTS, EventType
from integrations.outbound import UnsafeTarget, target_check
from integrations.tokens import DEFAULT_EXPIRY_DAYS
from scheduleonce.forms import FocusFirstMistake

SCOPE_PERSONAL = "personal"
SCOPE_ORGANIZATION = "organization"


class EndpointForm(FocusFirstMistake, forms.Form):
    url = forms.URLField(
        label=_("Endpoint URL"),
        max_length=500,
        assume_scheme="https",
        help_text=_("An https:// address that accepts POST requests."),
    )
    description = forms.CharField(
        label=_("Description"), max_length=200, required=False, validators=[validate_one_line]
    )
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=EventType.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one event.")},
    )

    def __init__(self, *args, organization=None, team_events: bool | None = None, **kwargs):
        """``organization``: an admin's, who may choose the organization-wide scope;
        ``team_events``: whether the team events are offered (by default: for admins)."""
        super().__init__(*args, **kwargs)
        if not (organization is not None if team_events is None else team_events):
            self.fields["events"].choices = [
                choice for choice in EventType.choices if choice[0] not in TEAM_EVENTS
            ]
        if organization is not None:
            self.fields["scope"] = forms.ChoiceField(
                label=_("Whose events"),
                choices=[
                    (SCOPE_PERSONAL, _("Mine: my bookings and my calendar")),
                    (
                        SCOPE_ORGANIZATION,
                        _("Everyone in %(name)s (as long as I am an admin there)")
                        % {"name": organization.name},
                    ),
                ],
                initial=SCOPE_PERSONAL,
                widget=forms.RadioSelect,
            )

    def clean(self) -> dict:
        data = super().clean()
        wants_team = set(data.get("events") or ()) & set(TEAM_EVENTS)
        if wants_team and data.get("scope", SCOPE_ORGANIZATION) != SCOPE_ORGANIZATION:
            self.add_error(
                "events", _("Team events go only to endpoints for everyone in the organization.")
            )
        return data

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            target_check(url)
        except UnsafeTarget as refused:
            raise forms.ValidationError(refused.message)
        return url


class EndpointEditForm(EndpointForm):
    is_active = forms.BooleanField(
        label=_("Active (switching it on again forgets earlier failures)"), required=False
    )


NEVER = "never"


class TokenForm(FocusFirstMistake, forms.Form):
    name = forms.CharField(
        label=_("Token name"),
        max_length=100,
        validators=[validate_one_line],
        help_text=_("What the token is for, e.g. “CRM sync”."),
    )
    expires = forms.ChoiceField(
        label=_("Expires"),
        choices=[
            ("30", _("In 30 days")),
            ("90", _("In 90 days")),
            ("365", _("In a year")),
            (NEVER, _("Never (until revoked)")),
        ],
        initial=str(DEFAULT_EXPIRY_DAYS),
        required=False,
        help_text=_("After that the API refuses it; make a new one to go on."),
    )

    def clean_expires(self) -> int | None:
        """The days the token lasts, None for until revoked; the default when the form
        was sent without a choice."""
        chosen = self.cleaned_data["expires"] or str(DEFAULT_EXPIRY_DAYS)
        return None if chosen == NEVER else int(chosen)
