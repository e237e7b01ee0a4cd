"""A request id for every web request, carried into the log lines of the request and of
every Celery task it queues (as the ``request_id`` message header).

An ``X-Request-ID`` from the proxy in front is kept when it is a plain token (letters,
digits, ``.``, ``_``, ``-``, at most 64), so one id follows a request from the proxy's
logs to ours; otherwise a new one is made. The answer carries it back in ``X-Request-ID``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from ops.logging import log_context_reset, log_context_set

HEADER = "X-Request-ID"
_PLAIN = re.compile(r"[A-Za-z0-9._-]{1,64}")


# The header as WSGI names it: read from META, since ``request.headers`` builds a copy
# of every header (for most API requests nothing else asks for it).
_META_KEY = "HTTP_" + HEADER.upper().replace("-", "_")


def request_id_for(request: HttpRequest) -> str:
    given = request.META.get(_META_KEY, "")
    return given if _PLAIN.fullmatch(given) else uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = request_id_for(request)
        token = log_context_set(request_id=request.request_id)
        try:
            response = self.get_response(request)
        finally:
            log_context_reset(token)
        response[HEADER] = request.request_id
        return response
