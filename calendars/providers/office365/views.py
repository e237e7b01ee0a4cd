"""Graph's change and lifecycle notifications: ``/webhooks/office365/notifications`` and
``/webhooks/office365/lifecycle`` (the public HTTP contract).

- With ``?validationToken=…`` (Graph checking the URL before it makes a subscription):
  ``200 text/plain`` with the decoded token as the whole body, at once.
- Otherwise a POST of ``{"value": [...]}``: each item's ``subscriptionId`` and
  ``clientState`` are checked (``calendars.services.subscriptions.notices_receive``, in
  constant time; unknown or wrong ones are logged without their content and ignored)
  and ``202`` is answered within milliseconds. The work (a delta sync of the account,
  debounced) is queued; Graph is never called here. Graph batches changes: a POST may
  carry hundreds of items for one subscription (say, a calendar imported at once),
  and each one means only "this mailbox changed", so each distinct subscription, client
  state and lifecycle event is acted on once (Graph wants its answer within 3 seconds).
- A body that is not Graph's JSON is ``400``; anything but POST ``405``.

Public and CSRF-exempt: Graph cannot send a CSRF token; the client state is the proof.
"""

from __future__ import annotations

import json
import logging

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt

from calendars.services.subscriptions import Notice, notices_receive

logger = logging.getLogger(__name__)

# Graph's tokens are short (a sentence and a GUID); anything far longer is not Graph.
MAX_VALIDATION_TOKEN = 1024
# Distinct subscriptions, client states and lifecycle events in one POST: Graph's batches
# name a few; thousands are not Graph (the body itself is bounded by Django's
# DATA_UPLOAD_MAX_MEMORY_SIZE).
MAX_NOTICES = 1000


def _validation_answer(token: str) -> HttpResponse:
    if len(token) > MAX_VALIDATION_TOKEN:
        return HttpResponse("validationToken too long", status=400, content_type="text/plain")
    return HttpResponse(token, status=200, content_type="text/plain; charset=utf-8")


def _items(request: HttpRequest) -> list[dict] | None:
    """The body's ``value`` items, or None when it is not Graph's notification JSON."""
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, RecursionError, RequestDataTooBig):
        # RecursionError: arrays nested thousands deep, which Graph never sends.
        return None
    items = body.get("value") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return None
    return [item for item in items if isinstance(item, dict)]


def _text(item: dict, key: str) -> str:
    """The item's string ``key``, or "" when it is missing, not a string or holds a NUL
    (never Graph's, and PostgreSQL cannot compare text with one)."""
    value = item.get(key)
    return value if isinstance(value, str) and "\x00" not in value else ""


def _receive(request: HttpRequest, *, lifecycle: bool) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if "validationToken" in request.GET:
        return _validation_answer(request.GET["validationToken"])
    items = _items(request)
    if items is None:
        return HttpResponse(
            "Expected Graph's notification JSON.", status=400, content_type="text/plain"
        )
    # dict.fromkeys: each distinct notice once, in the order they came.
    notices = list(
        dict.fromkeys(
            Notice(
                subscription_id=_text(item, "subscriptionId"),
                client_state=_text(item, "clientState"),
                # Lifecycle events may come to either URL (they may be the same one).
                lifecycle_event=_text(item, "lifecycleEvent"),
            )
            for item in items
        )
    )
    if len(notices) > MAX_NOTICES:
        return HttpResponse(
            "Expected Graph's notification JSON.", status=400, content_type="text/plain"
        )
    accepted = notices_receive(notices=notices)
    if accepted < len(notices):
        logger.info(
            "%s: %d of %d notification(s) accepted",
            "lifecycle" if lifecycle else "notifications",
            accepted,
            len(notices),
        )
    return HttpResponse(status=202)


@csrf_exempt
def notifications(request: HttpRequest) -> HttpResponse:
    return _receive(request, lifecycle=False)


@csrf_exempt
def lifecycle(request: HttpRequest) -> HttpResponse:
    return _receive(request, lifecycle=True)
