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
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.forms import InvitationSignUpForm, LoginForm, ProfileForm, SignUpForm
from accounts.models import User
from accounts.services import (
    OrganizationError,
    invitation_accept,
    invitation_from_token,
    organization_create_for,
)
from ops.context_processors import SITE_NAME


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("setup:home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = form.save()
            organization_create_for(user=user)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome to ScheduleOnce! Start by connecting your calendar.")
        return redirect("setup:home")
    return render(request, "accounts/signup.html", {"form": form})


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True
    # Django's view puts the request's host name in ``site_name``; titles name the product.
    extra_context = {"site_name": SITE_NAME}

    def form_invalid(self, form) -> HttpResponse:
        response = super().form_invalid(form)
        if form.is_throttled():
            response.status_code = 429
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
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    @property
    def extra_email_context(self) -> dict:
        # The link names SITE_URL, not the host name the request came in under.
        return {"site_url": settings.SITE_URL}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


@login_required
def setup_home(request: HttpRequest) -> HttpResponse:
    return render(request, "setup/home.html", {"section": "home"})


@login_required
@require_http_methods(["GET", "POST"])
def setup_profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your profile was saved.")
        return redirect("setup:profile")
    return render(request, "setup/profile.html", {"form": form, "section": "profile"})


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
        return render(request, "accounts/invitation.html", context)
    if User.objects.filter(email__iexact=invitation.email).exists():
        context["log_in_first"] = True
        return render(request, "accounts/invitation.html", context)
    form = InvitationSignUpForm(request.POST or None, email=invitation.email)
    context["form"] = form
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
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
