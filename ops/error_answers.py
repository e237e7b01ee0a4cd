"""Error answers that do not depend on what failed.

Under ``/api/`` every error is the documented JSON body ``{"message": …, "errors":
{…}}``, whoever produced it (our views, Django's request parsing, the URL resolver,
the CSRF check). While the database cannot be reached, the API answers ``503`` with
that body and ``Retry-After``, and pages get a short "try again in a moment" page
instead of an error page or a 500.
"""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from ops.context_processors import SITE_NAME

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
# Seconds a client is asked to wait while the database does not answer.
DATABASE_RETRY_AFTER = 10
DATABASE_DOWN = "We cannot answer right now (our database does not respond); try again in a moment."
# What a bare error status means, for error answers that came without a message of ours.
STATUS_MESSAGES = {
    400: "The request could not be read.",
    401: "Authentication is needed.",
    403: "This request is not allowed.",
    404: "Nothing here: check the address.",
    405: "This method is not allowed here.",
    413: "The request is too large.",
    429: "Too many requests; try again in a minute.",
    500: "Something went wrong on our side; it was logged. Try again in a minute.",
    503: DATABASE_DOWN,
}
# Headers of the original error answer that stay meaningful in the JSON one.
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def json_error(
    status: int, message: str, errors: dict[str, list[str]] | None = None, **kwargs
) -> JsonResponse:
    """The API's error answer: ``{"message": …, "errors": {"<field>": ["…"]}}``."""
    return JsonResponse({"message": message, "errors": errors or {}}, status=status, **kwargs)


def is_json(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").startswith("application/json")


def json_error_like(response: HttpResponse) -> JsonResponse:
    """``response`` (an error answer in another shape) as the API's JSON error body."""
    status = response.status_code
    default = STATUS_MESSAGES[500] if status >= 500 else STATUS_MESSAGES[400]
    answer = json_error(status, STATUS_MESSAGES.get(status, default))
    for name in KEPT_HEADERS:
        if name in response:
            answer[name] = response[name]
    return answer


def is_database_unavailable(error: BaseException | None) -> bool:
    """Whether ``error`` means the database cannot be reached (or used) for now."""
    return isinstance(error, (OperationalError, InterfaceError))


def database_unavailable(request: HttpRequest, error: BaseException) -> HttpResponse:
    """503 with ``Retry-After``: the JSON body under ``/api/``, else a page that needs no
    database (no context processors: they would look up the logged-in user)."""
    log.error(
        "Database unavailable answering %s %s: %s",
        request.method,
        request.path,
        type(error).__name__,
    )
    if is_api(request):
        response: HttpResponse = json_error(503, DATABASE_DOWN)
    else:
        page = render_to_string("503.html", {"site_name": SITE_NAME})
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return response
