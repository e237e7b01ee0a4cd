"""Request-level guards that turn unreadable requests and outages into clear answers,
and the timing of every answer for ``/metrics``."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.messages import middleware as messages_middleware
from django.contrib.messages.storage import default_storage
from django.core.exceptions import (
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.utils.functional import SimpleLazyObject, empty
from django.views.defaults import bad_request

from ops import metrics
from ops.error_answers import (
    STATUS_MESSAGES,
    database_unavailable,
    is_api,
    is_database_unavailable,
    is_json,
    json_error,
    json_error_like,
)

BAD_LENGTH = "The Content-Length header must be a number of bytes."
TOO_BIG = "The request body is too large."


class ErrorAnswersMiddleware:
    """Clear answers for what would otherwise be a 500 or an error page of Django's.

    - A ``Content-Length`` that is not a number: ``400`` (Django would fail reading it).
    - Under ``/api/``: the query and any form body are read here first, so Django's
      refusals (too many fields, too large) become the JSON error body; any error
      answer that is not JSON (an unknown address, a CSRF refusal, a 500 in production)
      is turned into it; and every answer without a Cache-Control of its own gets
      never_cache's.
    - The database cannot be reached: ``503`` with ``Retry-After`` (``error_answers``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self._answer(request)
        if is_api(request) and "Cache-Control" not in response:
            # Like the API views' own answers (never_cache), whoever answered: a refusal
            # here, the URL resolver, the CSRF check. An answer that says how it may be
            # cached (the time zone list) keeps that.
            add_never_cache_headers(response)
        return response

    def _answer(self, request: HttpRequest) -> HttpResponse:
        refused = _unreadable(request)
        if refused is not None:
            return refused
        response = self.get_response(request)
        if is_api(request) and _error_to_reshape(response):
            return json_error_like(response)
        if response.status_code == 405 and not response.content and request.method != "HEAD":
            return _not_allowed_page(request, response)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_database_unavailable(exception):
            return database_unavailable(request, exception)
        if is_api(request) and isinstance(exception, SuspiciousOperation):
            return _refusal(exception)
        return None


def _not_allowed_page(request: HttpRequest, refused: HttpResponse) -> HttpResponse:
    """A page that says why, for Django's empty 405 (``require_POST``): a browser shows its
    own error for an empty one, e.g. after opening a form's address from the history."""
    page = render(request, "405.html", status=405)
    page["Allow"] = refused.get("Allow", "")
    return page


def _error_to_reshape(response: HttpResponse) -> bool:
    """An error answer not in the API's shape (a 5xx keeps Django's debug page locally)."""
    status = response.status_code
    return status >= 400 and not is_json(response) and (status < 500 or not settings.DEBUG)


def _unreadable(request: HttpRequest) -> HttpResponse | None:
    """An answer for a request Django cannot read, or None."""
    length = request.META.get("CONTENT_LENGTH", "")
    if length and not (length.strip().isascii() and length.strip().isdigit()):
        if is_api(request):
            return json_error(400, BAD_LENGTH, {"body": [BAD_LENGTH]})
        return bad_request(request, exception=None)
    if not is_api(request):
        return _unreadable_query_page(request)
    try:
        request.GET  # noqa: B018  (parsing it is the point)
        if request.content_type == "application/x-www-form-urlencoded":
            # A form body, read as Django's CSRF check would (bounded by
            # DATA_UPLOAD_MAX_MEMORY_SIZE); JSON and uploads are left to the view.
            request.POST  # noqa: B018
    except SuspiciousOperation as refused:
        return _refusal(refused)
    return None


def _unreadable_query_page(request: HttpRequest) -> HttpResponse | None:
    """The 400 page for a query string Django refuses to read (more parameters than
    ``DATA_UPLOAD_MAX_NUMBER_FIELDS``), else None. Drawn with an empty query: every page
    reads it (the embed flag, ``?lang=``, ``next``), and reading it again would be refused
    again, turning the 400 into a 500."""
    try:
        request.GET  # noqa: B018  (parsing it is the point)
    except SuspiciousOperation:
        request.GET = QueryDict()
        return bad_request(request, exception=None)
    return None


def _refusal(error: SuspiciousOperation) -> HttpResponse:
    """The JSON error body for a request Django refused to read."""
    if isinstance(error, RequestDataTooBig):
        return json_error(413, TOO_BIG, {"body": [TOO_BIG]})
    if isinstance(error, (TooManyFieldsSent, TooManyFilesSent)):
        most = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        message = f"Too many query parameters or form fields (at most {most})."
    else:
        message = STATUS_MESSAGES[400]
    return json_error(400, message, {"body": [message]})


class RequestMetricsMiddleware:
    """Times every request into ``scheduleonce_http_request_seconds`` (``ops.metrics``),
    labelled by the URL pattern that answered it: ``static`` for files WhiteNoise serves
    before any URL is resolved, ``unmatched`` for an address no pattern knows (a 404, a
    scanner). First in ``MIDDLEWARE``, so the time includes every other middleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        metrics.http_request_observe(
            route=_route(request),
            method=request.method or "",
            status=response.status_code,
            seconds=time.perf_counter() - started,
        )
        return response


def _route(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None and match.route:
        return match.route
    if settings.STATIC_URL and request.path.startswith(settings.STATIC_URL):
        return "static"
    return "unmatched"


class MessageMiddleware(messages_middleware.MessageMiddleware):
    """Django's, with the messages' storage made when a view or page first uses it: most
    answers (the API, the public pages, ``/healthz``) never do, and making it (a cookie
    and a session storage) cost each of them about 40 calls. Storage that was never used
    holds nothing to store, so its answer is left as it is."""

    def process_request(self, request: HttpRequest) -> None:
        request._messages = SimpleLazyObject(lambda: default_storage(request))

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        storage = getattr(request, "_messages", None)
        if isinstance(storage, SimpleLazyObject) and storage._wrapped is empty:
            return response
        return super().process_response(request, response)
