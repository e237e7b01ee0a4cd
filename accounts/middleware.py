"""Two-factor sign-in in front of Setup (see ``accounts.two_factor``)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from accounts.two_factor import two_factor_enabled, two_factor_required
from ops.error_answers import database_unavailable, is_database_unavailable

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
                detour = self._detour(request)
            except Exception as error:
                # The session and devices live in the database: while it is down, answer
                # as every page does then (503, try again), not with a server error.
                if is_database_unavailable(error):
                    return database_unavailable(request, error)
                raise
            if detour is not None:
                return detour
        return self.get_response(request)

    def _detour(self, request: HttpRequest) -> HttpResponse | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or user.is_verified():
            return None
        query = urlencode({"next": request.get_full_path()})
        if two_factor_enabled(user=user):
            return redirect(f"{reverse('accounts:two_factor_verify')}?{query}")
        if two_factor_required(user=user):
            return redirect(f"{reverse('accounts:two_factor_setup')}?{query}")
        return None
