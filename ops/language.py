"""Which language a request is answered in.

Django's ``LocaleMiddleware`` picks it from the browser's ``Accept-Language``; this
middleware, placed after authentication, then applies:

- a host's choice in Setup → Profile (``User.language``) on every page they see;
- on the public booking pages, ``?lang=<code>`` (the page's language switcher and the
  embed snippets use it). It is carried in links, never a cookie, so a booking page
  framed on another site works where third-party cookies are blocked.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.signals import request_finished
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils import translation

PUBLIC_PREFIXES = ("/book/", "/bookings/")


def supported_language(code: str | None) -> str | None:
    """``code`` if it names one of ``settings.LANGUAGES`` (``de-DE`` counts as ``de``)."""
    if not code:
        return None
    base = code.strip().lower().replace("_", "-").split("-")[0]
    return base if base in dict(settings.LANGUAGES) else None


def requested_language(request: HttpRequest) -> str | None:
    """The language asked for explicitly by this request, if any."""
    if request.path.startswith(PUBLIC_PREFIXES):
        chosen = supported_language(request.GET.get("lang"))
        if chosen:
            return chosen
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        # No session, so nobody logged in (the session is the only way in): the lazy
        # user (session, user and second-factor lookups, ~60 calls) is left unloaded.
        return None
    user = getattr(request, "user", None)
    try:
        if user is not None and user.is_authenticated:
            return supported_language(getattr(user, "language", ""))
    except DatabaseError:
        # Loading the user needs the database; while it is down the view answers 503
        # (ops.middleware), in the browser's language.
        return None
    return None


def _forget_the_language(**_kwargs) -> None:
    """After each request, back to the default: code that runs later on this thread (a task
    run in-process, a test) must not speak the last visitor's language."""
    translation.deactivate()


request_finished.connect(_forget_the_language, dispatch_uid="ops.language.forget")


class LanguageChoiceMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chosen = requested_language(request)
        if chosen and chosen != request.LANGUAGE_CODE:
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen
        response = self.get_response(request)
        if chosen:
            response.headers["Content-Language"] = chosen
        return response
