from __future__ import annotations

import logging
import sys

from django.db import DatabaseError, connection
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from ops.error_answers import (
    STATUS_MESSAGES,
    database_unavailable,
    is_api,
    is_database_unavailable,
    json_error,
)
from ops.methods import read_only
from ops.metrics_scrape import METRICS_TOKEN_NEEDED, metrics_refusal, metrics_scrape

log = logging.getLogger(__name__)


@never_cache
@read_only
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers, 503 when it does not. For load balancers and compose."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        log.warning("healthz: database unavailable: %s", type(exc).__name__)
        return JsonResponse({"status": "unavailable", "database": "down"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


@read_only
def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("setup:home")
    return render(request, "home.html")


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's handler500 (production): called while the failure is being handled."""
    error = sys.exc_info()[1]
    if is_database_unavailable(error):
        return database_unavailable(request, error)
    if is_api(request):
        return json_error(500, STATUS_MESSAGES[500])
    return HttpResponseServerError(render_to_string("500.html"))


@never_cache
@read_only
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, for whom ``metrics_refusal`` lets in."""
    refused = metrics_refusal(
        authorization=request.headers.get("Authorization", ""),
        remote_addr=request.META.get("REMOTE_ADDR", ""),
    )
    if refused == 404:
        raise Http404
    if refused == 401:
        response = HttpResponse(METRICS_TOKEN_NEEDED, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = metrics_scrape()
    return HttpResponse(body, content_type=content_type)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: our 403 page saying what to do (Django's own page is
    unstyled under our CSP, untranslated in places and has no landmarks); the JSON error
    body under ``/api/``. ``reason`` is for developers and is not shown."""
    if is_api(request):
        return json_error(403, STATUS_MESSAGES[403])
    message = _(
        "This form could not be sent: its security check ran out (the page was open for "
        "a long time, or this browser blocks cookies for this site). Go back, reload the "
        "page and send it again."
    )
    heading = _("This form has expired")
    return render(request, "403.html", {"exception": message, "heading": heading}, status=403)
