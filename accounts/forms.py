from __future__ import annotations

import math

from django import forms
from django.conf import settings
from django.contrib.auth.forms import (
    AuthenticationForm,
    BaseUserCreationForm,
    PasswordChangeForm,
    PasswordResetForm,
)
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.login_throttle import login_failed, login_succeeded, login_wait_seconds
from accounts.models import User
from accounts.timezones import time_zone_choices
from accounts.validators import validate_one_line
from scheduleonce.forms import FocusFirstMistake


class TimeZoneField(forms.ChoiceField):
    """A select of IANA zones; the page's script preselects the browser's zone."""

    def __init__(self, **kwargs):
        kwargs.setdefault("choices", time_zone_choices)
        kwargs.setdefault("label", _("Time zone"))
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("data-detect-time-zone", "1")


class SignUpForm(FocusFirstMistake, BaseUserCreationForm):
    name = forms.CharField(
        max_length=150,
        label=_("Your name"),
        validators=[validate_one_line],
        widget=forms.TextInput(attrs={"autocomplete": "name", "autofocus": True}),
    )
    email = forms.EmailField(
        max_length=254,
        label=_("Work email"),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    time_zone = TimeZoneField(initial="UTC")

    class Meta:
        model = User
        fields = ("name", "email", "time_zone")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The form starts with the name (Django's focuses the username field, the email).
        self.fields["email"].widget.attrs.pop("autofocus", None)

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                _("An account with this email already exists. Log in or reset your password.")
            )
        return email


class LoginForm(FocusFirstMistake, AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        # One message whether or not the account exists.
        "invalid_login": _(
            "That email and password do not match an account. "
            "Check them and try again (the password is case-sensitive)."
        ),
    }
    username = forms.EmailField(
        label=_("Email"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    def clean(self):
        email = self.cleaned_data.get("username") or ""
        wait = login_wait_seconds(self.request, email)
        self.wait_seconds = wait
        if wait:
            minutes = max(1, math.ceil(wait / 60))
            raise forms.ValidationError(
                ngettext(
                    "Too many failed attempts to log in. Try again in %(count)d minute, "
                    "or reset your password by email.",
                    "Too many failed attempts to log in. Try again in %(count)d minutes, "
                    "or reset your password by email.",
                    minutes,
                )
                % {"count": minutes},
                code="throttled",
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError as refused:
            if refused.code == "invalid_login":
                login_failed(self.request, email)
            raise
        if email:
            login_succeeded(email)
        return cleaned

    wait_seconds = 0  # while throttled: seconds until the next attempt may succeed

    def is_throttled(self) -> bool:
        return any(error.code == "throttled" for error in self.non_field_errors().as_data())


class ProfileForm(FocusFirstMistake, forms.ModelForm):
    time_zone = TimeZoneField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].validators.append(validate_one_line)
        self.fields["language"].choices = [("", _("Your browser's language")), *settings.LANGUAGES]

    # The per-booking emails the host gets (booking.email_outbox reads them when sending).
    NOTIFICATIONS = ("notify_booked", "notify_rescheduled", "notify_cancelled")

    class Meta:
        model = User
        fields = (
            "name",
            "time_zone",
            "language",
            "notify_booked",
            "notify_rescheduled",
            "notify_cancelled",
        )
        labels = {"name": _("Your name")}

    def notification_fields(self):
        return [self[name] for name in self.NOTIFICATIONS]

    def profile_fields(self):
        return [field for field in self.visible_fields() if field.name not in self.NOTIFICATIONS]


class InvitationSignUpForm(FocusFirstMistake, BaseUserCreationForm):
    """An invited person's new account: the address is the invitation's."""

    name = forms.CharField(
        max_length=150,
        label=_("Your name"),
        validators=[validate_one_line],
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    time_zone = TimeZoneField(initial="UTC")

    class Meta:
        model = User
        fields = ("name", "time_zone")

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.email = email


class TwoFactorCodeForm(FocusFirstMistake, forms.Form):
    code = forms.CharField(
        max_length=32,
        label=_("Code"),
        help_text=_("The 6-digit code from your authenticator app, or a recovery code."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
    )


class LocalizedPasswordResetForm(PasswordResetForm):
    """The reset email speaks the account's Profile language (else the page's)."""

    def send_mail(self, subject_template_name, email_template_name, context, *args, **kwargs):
        user = context.get("user")
        language = getattr(user, "language", "") or translation.get_language() or "en"
        with translation.override(language):
            super().send_mail(subject_template_name, email_template_name, context, *args, **kwargs)


class ChangePasswordForm(FocusFirstMistake, PasswordChangeForm):
    """The current password, then the new one twice (Django's password validators).

    Checking the current password counts as logging in: a wrong one is a failed log-in
    of the account (``accounts.login_throttle``), and while logging in to the account is
    paused every attempt is refused, the right password included. Needs ``request``.
    """

    error_messages = {
        **PasswordChangeForm.error_messages,
        "password_incorrect": _(
            "That is not your current password. Check it and try again "
            "(the password is case-sensitive)."
        ),
    }

    def __init__(self, user, *args, request, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.request = request
        self.fields["old_password"].label = _("Current password")
        self.fields["new_password2"].label = _("New password again")

    wait_seconds = 0  # while throttled: seconds until the next attempt may succeed

    def clean_old_password(self) -> str:
        email = self.user.email
        wait = login_wait_seconds(self.request, email)
        if wait:
            self.wait_seconds = wait
            minutes = max(1, math.ceil(wait / 60))
            raise forms.ValidationError(
                ngettext(
                    "Too many wrong passwords. Try again in %(count)d minute.",
                    "Too many wrong passwords. Try again in %(count)d minutes.",
                    minutes,
                )
                % {"count": minutes},
                code="throttled",
            )
        try:
            password = super().clean_old_password()
        except forms.ValidationError:
            login_failed(self.request, email)
            raise
        login_succeeded(email)
        return password

    def is_throttled(self) -> bool:
        return bool(self.wait_seconds)
