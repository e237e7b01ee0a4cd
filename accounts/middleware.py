"""Two-factor sign-in in front of Setup (see ``accounts.two_factor``)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from accounts.two_factor import two_factor_enabled, two_factor_required
from ops.error_answers import database_unavailable

GUARDED = ("/setup/",)


class TwoFactorMiddleware:
    """A logged-in person reaches Setup only with a verified second factor when they have
    one, and is sent to set one up first when their organization requires it.

    Runs after django-otp's ``OTPMiddleware`` (which gives ``user.is_verified``).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(GUARDED):
            try:
                detour = self._guard(request)
            except DatabaseError as error:
                # Who is logged in (and with which factors) lives in the database: while
                # it is down, answer 503 rather than let an unverified session through.
                return database_unavailable(request, error)
            if detour is not None:
                return detour
        return self.get_response(request)

    def _guard(self, request: HttpRequest) -> HttpResponse | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return self._detour(request, user)

    def _detour(self, request: HttpRequest, user) -> HttpResponse | None:
        if user.is_verified():
            return None
        query = urlencode({"next": request.get_full_path()})
        if two_factor_enabled(user=user):
            return redirect(f"{reverse('accounts:two_factor_verify')}?{query}")
        if two_factor_required(user=user):
            return redirect(f"{reverse('accounts:two_factor_setup')}?{query}")
        return None
