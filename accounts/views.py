"""Sign up, log in, password reset and the Setup shell."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts import two_factor
from accounts.form_throttle import form_wait_seconds, refused_form, reset_wait_seconds, too_many
from accounts.forms import (
    ChangePasswordForm,
    InvitationSignUpForm,
    LocalizedPasswordResetForm,
    LoginForm,
    ProfileForm,
    SignUpForm,
    TwoFactorCodeForm,
)
from accounts.models import User
from accounts.passwords import password_change
from accounts.selectors import organization_alone_in
from accounts.services import (
    OrganizationError,
    invitation_accept,
    invitation_from_token,
    organization_create_for,
    time_zone_changed,
)
from ops.context_processors import SITE_NAME
from ops.language import supported_language


def _page_language() -> str:
    """The language the sign-up page was read in: a new account keeps it (Profile can
    hand it back to the browser), so its emails, which have no browser to ask, come in
    the language the person signed up in rather than in English."""
    return supported_language(translation.get_language()) or ""


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("setup:home")
    if request.method == "POST":
        wait = form_wait_seconds(request=request, form="signup")
        if wait is not None:
            initial = _refill(request, "name", "email", "time_zone")
            form = refused_form(SignUpForm, initial=initial, seconds=wait)
            return too_many(render(request, "accounts/signup.html", {"form": form}), wait)
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.instance.language = _page_language()
            user = form.save()
            organization_create_for(user=user)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Welcome to ScheduleOnce! Start by connecting your calendar."))
        return redirect("setup:home")
    return render(request, "accounts/signup.html", {"form": form}, status=_form_status(form))


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True
    # Django's view puts the request's host name in ``site_name``; titles name the product.
    extra_context = {"site_name": SITE_NAME}

    def form_invalid(self, form) -> HttpResponse:
        """The form again with its message: 429 (with ``Retry-After``) while paused, else
        400, the same whether or not the account exists."""
        response = super().form_invalid(form)
        response.status_code = 429 if form.is_throttled() else 400
        if form.is_throttled():
            response["Retry-After"] = str(form.wait_seconds)
        return response


class LogoutView(auth_views.LogoutView):
    """Logs out on POST. A GET (a typed or bookmarked address) asks first: logging
    out on GET would let any page on the web log our hosts out."""

    http_method_names = ["get", "post", "options"]

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect("accounts:login")
        return render(request, "accounts/logout.html")


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset_form.html"
    form_class = LocalizedPasswordResetForm
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    @property
    def extra_email_context(self) -> dict:
        # The link names SITE_URL, not the host name the request came in under.
        return {"site_url": settings.SITE_URL}

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        wait = reset_wait_seconds(request=request, email=request.POST.get("email", ""))
        if wait is None:
            return super().post(request, *args, **kwargs)
        form = refused_form(self.form_class, initial=_refill(request, "email"), seconds=wait)
        return too_many(self.render_to_response(self.get_context_data(form=form)), wait)

    def form_invalid(self, form) -> HttpResponse:
        # Only a malformed address gets here: an unknown one is sent on like any other.
        return _with_status(super().form_invalid(form), 400)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """A 400 for a link that no longer works (used, expired or made up) and for a new
    password with mistakes; the form is shown again with its messages."""

    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def dispatch(self, *args, **kwargs) -> HttpResponse:
        response = super().dispatch(*args, **kwargs)
        if not self.validlink and response.status_code == 200:
            response.status_code = 400
        return response

    def form_invalid(self, form) -> HttpResponse:
        return _with_status(super().form_invalid(form), 400)


def _refill(request: HttpRequest, *names: str) -> dict[str, str]:
    """What the refused form had in ``names`` (never a password), to show it again."""
    return {name: request.POST.get(name, "")[:254] for name in names}


def _with_status(response: HttpResponse, status: int) -> HttpResponse:
    response.status_code = status
    return response


@login_required
@require_http_methods(["GET", "POST"])
def setup_profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = form.save()
            if "time_zone" in form.changed_data:
                time_zone_changed.send(sender=type(user), user=user)
        messages.success(request, _("Your profile was saved."))
        return redirect("setup:profile")
    context = {"form": form, "section": "profile"}
    return render(request, "setup/profile.html", context, status=_form_status(form))


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def setup_password(request: HttpRequest) -> HttpResponse:
    """Change the password: the current one (checked and throttled as logging in is),
    then the new one twice. 400 with the form's messages, 429 with ``Retry-After``
    while logging in to the account is paused."""
    form = ChangePasswordForm(request.user, request.POST or None, request=request)
    if request.method == "POST" and form.is_valid():
        password_change(
            request=request, user=request.user, new_password=form.cleaned_data["new_password1"]
        )
        messages.success(
            request,
            _("Your password was changed. Every other place you were logged in is logged out."),
        )
        return redirect("setup:profile")
    context = {"form": form, "section": "profile"}
    response = render(request, "setup/password.html", context, status=_form_status(form))
    return too_many(response, form.wait_seconds) if form.is_throttled() else response


def _form_status(form) -> int:
    """400 for a form sent with mistakes (bad input is a 4xx everywhere), else 200."""
    return 400 if form.is_bound and form.errors else 200


@require_http_methods(["GET", "POST"])
def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    """An invitation link: join as the logged-in account, log in first, or make an account.

    The link works until it is accepted, revoked, resent or seven days old; only the
    invited address can use it (``accounts.services.invitation_accept``).
    """
    invitation, problem = invitation_from_token(token)
    if invitation is None:
        return render(request, "accounts/invitation.html", {"problem": problem}, status=400)
    context = {"invitation": invitation, "organization": invitation.organization}
    user = request.user
    if user.is_authenticated:
        if user.email.lower() != invitation.email.lower():
            context["problem"] = _(
                "You are logged in as %(you)s, but this invitation is for %(email)s. "
                "Log out, then open the link again."
            ) % {"you": user.email, "email": invitation.email}
            return render(request, "accounts/invitation.html", context, status=403)
        if request.method == "POST":
            return _accept(request, invitation, user, context)
        leaving = organization_alone_in(user=user)
        if leaving is not None and leaving.pk != invitation.organization_id:
            context["leaving"] = leaving
        return render(request, "accounts/invitation.html", context)
    if User.objects.filter(email__iexact=invitation.email).exists():
        context["log_in_first"] = True
        return render(request, "accounts/invitation.html", context)
    form = InvitationSignUpForm(request.POST or None, email=invitation.email)
    context["form"] = form
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.instance.language = _page_language()
            new_user = form.save()
            response = _accept(request, invitation, new_user, context)
            if response.status_code != 302:
                transaction.set_rollback(True)
        return response
    return render(
        request, "accounts/invitation.html", context, status=400 if form.is_bound else 200
    )


def _accept(request: HttpRequest, invitation, user, context: dict) -> HttpResponse:
    try:
        membership = invitation_accept(invitation=invitation, user=user)
    except OrganizationError as refused:
        context["problem"] = refused.message
        return render(request, "accounts/invitation.html", context, status=409)
    if not request.user.is_authenticated:
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(
        request,
        _("Welcome to %(organization)s! Connect your own calendar to start.")
        % {"organization": membership.organization.name},
    )
    return redirect("setup:home")


# --- two-factor sign-in ---------------------------------------------------------------------


def _next_or_setup(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return redirect(target if target and allowed else "setup:home")


def _wait_message(seconds: int, *, recovery: bool = False) -> str:
    if recovery:
        return ngettext(
            "Too many wrong codes. Wait %(count)d second, then enter your recovery code again.",
            "Too many wrong codes. Wait %(count)d seconds, then enter your recovery code again.",
            seconds,
        ) % {"count": seconds}
    return ngettext(
        "Too many wrong codes. Wait %(count)d second, then enter the newest code from your app.",
        "Too many wrong codes. Wait %(count)d seconds, then enter the newest code from your app.",
        seconds,
    ) % {"count": seconds}


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    """The second step of logging in: a code from the app, or a recovery code."""
    if request.user.is_verified() or not two_factor.two_factor_enabled(user=request.user):
        return _next_or_setup(request)
    form = TwoFactorCodeForm(request.POST or None)
    wait = 0
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"].strip().replace(" ", "")
        kind = two_factor.device_kind(code)
        wait = two_factor.code_wait_seconds(user=request.user, kind=kind)
        if wait:
            recovery = kind is not two_factor.TOTPDevice
            form.add_error("code", _wait_message(wait, recovery=recovery))
        elif two_factor.two_factor_verify(request=request, token=code):
            return _next_or_setup(request)
        else:
            form.add_error("code", _("That code is not right. Try the newest code from your app."))
    context = {"form": form, "next": request.GET.get("next", "")}
    response = render(
        request, "accounts/two_factor_verify.html", context, status=400 if form.errors else 200
    )
    return too_many(response, wait) if wait else response


@never_cache  # the app's secret, and then the recovery codes: never kept by a cache
@login_required
@require_http_methods(["GET", "POST"])
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Turn on two-factor sign-in: scan the code, confirm with a first code, keep the
    recovery codes. With it on: new recovery codes, or turn it off (unless required)."""
    user = request.user
    enabled = two_factor.two_factor_enabled(user=user)
    if enabled and not user.is_verified():
        return redirect("accounts:two_factor_verify")
    required = two_factor.two_factor_required(user=user)
    context = {"section": "profile", "enabled": enabled, "required": required}
    if enabled:
        return render(request, "accounts/two_factor_setup.html", context)
    device = two_factor.totp_device_pending(user=user)
    form = TwoFactorCodeForm(request.POST or None)
    wait = two_factor.code_wait_seconds(user=user, pending=device) if form.is_bound else 0
    throttled = bool(wait) and form.is_valid()
    if throttled:
        form.add_error("code", _wait_message(wait))
    elif request.method == "POST" and form.is_valid():
        codes = two_factor.totp_confirm(
            request=request, device=device, token=form.cleaned_data["code"]
        )
        if codes is not None:
            context.update(enabled=True, codes=codes, next=request.GET.get("next", ""))
            return render(request, "accounts/two_factor_setup.html", context)
        form.add_error(
            "code", _("That code is not right. Check the time on your phone and try again.")
        )
    context.update(form=form, qr=_qr_svg(device.config_url), secret=_secret_text(device))
    response = render(
        request, "accounts/two_factor_setup.html", context, status=400 if form.errors else 200
    )
    return too_many(response, wait) if throttled else response


@never_cache  # new recovery codes
@login_required
@require_http_methods(["POST"])
def two_factor_codes(request: HttpRequest) -> HttpResponse:
    if not (two_factor.two_factor_enabled(user=request.user) and request.user.is_verified()):
        return redirect("accounts:two_factor_setup")
    codes = two_factor.recovery_codes_replace(user=request.user)
    context = {"section": "profile", "enabled": True, "codes": codes, "required": False}
    return render(request, "accounts/two_factor_setup.html", context)


@login_required
@require_http_methods(["POST"])
def two_factor_off(request: HttpRequest) -> HttpResponse:
    user = request.user
    if two_factor.two_factor_required(user=user):
        messages.error(request, _("Your organization requires two-factor sign-in."))
    elif two_factor.two_factor_enabled(user=user) and user.is_verified():
        two_factor.two_factor_disable(user=user)
        messages.success(request, _("Two-factor sign-in is off."))
    return redirect("setup:profile")


def _qr_svg(config_url: str) -> str:
    import segno

    return segno.make(config_url, error="m").svg_inline(scale=4, title=_("QR code to scan"))


def _secret_text(device) -> str:
    from base64 import b32encode

    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
