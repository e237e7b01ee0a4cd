"""``/v1.0/subscriptions``: Graph's change-notification subscriptions for Outlook events."""

from __future__ import annotations

import base64

from django.http import HttpRequest, HttpResponse

from graph_sandbox.graph.auth import READ_CALENDARS, Caller
from graph_sandbox.graph.errors import GraphError
from graph_sandbox.graph.odata import context_url, graph_json, graph_view, json_body, no_content
from graph_sandbox.subscriptions import services
from graph_sandbox.subscriptions.payloads import subscription_json

PAGE_SIZE = 100  # subscriptions per page of GET /subscriptions


@graph_view(("GET", "POST"))
def subscriptions(request: HttpRequest, caller: Caller) -> HttpResponse:
    """``GET`` lists this app's subscriptions for the signed-in user; ``POST`` creates one."""
    caller.require(READ_CALENDARS)
    if request.method == "POST":
        created = services.subscription_create(caller=caller, body=json_body(request))
        return graph_json(subscription_json(created, request=request), status=201)
    return _page(request, caller)


@graph_view(("GET", "PATCH", "DELETE"))
def subscription(request: HttpRequest, caller: Caller, subscription_id: str) -> HttpResponse:
    """``GET``, ``PATCH`` (renew) and ``DELETE`` one subscription."""
    caller.require(READ_CALENDARS)
    found = services.subscription_for(caller=caller, subscription_id=subscription_id)
    if request.method == "DELETE":
        services.subscription_delete(subscription=found)
        return no_content()
    if request.method == "PATCH":
        found = services.subscription_update(subscription=found, body=json_body(request))
    return graph_json(subscription_json(found, request=request))


@graph_view(("POST",))
def reauthorize(request: HttpRequest, caller: Caller, subscription_id: str) -> HttpResponse:
    """``POST /subscriptions/{id}/reauthorize``: 204, and changes flow again."""
    caller.require(READ_CALENDARS)
    found = services.subscription_for(caller=caller, subscription_id=subscription_id)
    services.subscription_reauthorize(subscription=found)
    return no_content()


def _page(request: HttpRequest, caller: Caller) -> HttpResponse:
    offset = _offset(request.GET.get("$skiptoken", ""))
    rows = services.subscriptions_of(caller=caller)
    data = {
        "@odata.context": context_url(request, "subscriptions"),
        "value": [
            subscription_json(s, with_client_state=False) for s in rows[offset : offset + PAGE_SIZE]
        ],
    }
    if len(rows) > offset + PAGE_SIZE:
        token = base64.urlsafe_b64encode(str(offset + PAGE_SIZE).encode()).decode()
        data["@odata.nextLink"] = request.build_absolute_uri(request.path) + f"?$skiptoken={token}"
    return graph_json(data)


def _offset(token: str) -> int:
    if not token:
        return 0
    try:
        offset = int(base64.urlsafe_b64decode(token.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        offset = -1
    if offset < 0:
        raise GraphError(400, "BadRequest", f"Invalid value '{token}' for $skiptoken query option.")
    return offset
