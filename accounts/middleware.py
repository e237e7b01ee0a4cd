"""Two-factor sign-in in front of the account (see ``accounts.two_factor``)."""

from __future__ import annotations

import functools
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, get_resolver, get_urlconf, reverse
from django.urls.resolvers import URLResolver

from accounts.two_factor import two_factor_enabled, two_factor_required
from ops.error_answers import database_unavailable, is_database_unavailable

# Read and written only with the second factor, whatever the method.
GUARDED = ("/setup/", "/admin/", "/accounts/invitations/")
READING = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Where a session half way through logging in may still send a form: the log-in itself.
SIGN_IN_FLOW = frozenset(
    {
        "accounts:login",
        "accounts:logout",
        "accounts:two_factor_verify",
        "accounts:two_factor_setup",
        "accounts:signup",
        "accounts:password_reset",
        "accounts:password_reset_confirm",
    }
)
# Routes that never act as the logged-in account: the invitee's booking pages and links
# (anyone may use them), the API (a token, never the session), and the local Graph
# sandbox's own sign-in pages.
NOT_THE_ACCOUNT = frozenset({"booking", "api", "graph_sandbox"})


class TwoFactorMiddleware:
    """A logged-in person acts as their account only with a verified second factor when
    they have one, and is sent to set one up first when their organization requires it.

    Asked for: everything under Setup, the admin and invitation links (reading too), and
    every other form sent (any method but a read) except the log-in steps themselves and
    the routes that do not act as the account. Runs after django-otp's ``OTPMiddleware``
    (which gives ``user.is_verified``).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _acts_as_the_account(request):
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
        query = urlencode({"next": _back_to(request)})
        if two_factor_enabled(user=user):
            return redirect(f"{reverse('accounts:two_factor_verify')}?{query}")
        if two_factor_required(user=user):
            return redirect(f"{reverse('accounts:two_factor_setup')}?{query}")
        return None


def _acts_as_the_account(request: HttpRequest) -> bool:
    if request.path.startswith(GUARDED):
        return True
    if request.method in READING:
        return False
    return _route_acts_as_the_account(get_resolver(get_urlconf()), request.path_info)


@functools.lru_cache(maxsize=256)
def _route_acts_as_the_account(resolver: URLResolver, path: str) -> bool:
    """Whether a form sent to ``path`` acts as the account, kept per path: the handler
    resolves the path again after the middleware, and resolving it here as well cost
    every booking POST about 90 calls. Keyed by the resolver too, which Django makes anew
    when the URL configuration changes (``clear_url_caches``), so no answer outlives it."""
    try:
        match = resolver.resolve(path)
    except Resolver404:
        return False
    return match.view_name not in SIGN_IN_FLOW and match.namespace not in NOT_THE_ACCOUNT


def _back_to(request: HttpRequest) -> str:
    """Where to go after the code: the guarded page itself, else Setup (a form sent
    elsewhere is not replayed; its page is opened again from there)."""
    if request.path.startswith(GUARDED):
        return request.get_full_path()
    return reverse("setup:home")
