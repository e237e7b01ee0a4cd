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
from django.views.decorators.http import require_http_methods

from accounts.forms import LoginForm, ProfileForm, SignUpForm
from accounts.services import organization_create_for
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
