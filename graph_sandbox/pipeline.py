"""What happens around every call to the TLS endpoints, before and after Django answers it.

1. Work out who is calling (mailbox and app) from the bearer token, refresh
   token or code, without judging it: the endpoint itself answers 401s.
2. Graph calls take one of the 4 concurrent slots of their (app, mailbox); a
   5th concurrent call is answered 429 ``ApplicationThrottled``, as Outlook does.
3. Apply the fault rules: latency, then 429 / 503 / slow / drop / drop after.
4. Record the call in the request log.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse, JsonResponse

from graph_sandbox import faults, store
from graph_sandbox.clock import sandbox_now
from graph_sandbox.graph.auth import caller_for
from graph_sandbox.graph.errors import GraphError, graph_error_response
from graph_sandbox.identity.errors import IdentityError, identity_error_response
from graph_sandbox.ids import request_id, sha256_hex
from graph_sandbox.models import AuthorizationCode, RefreshToken
from graph_sandbox.requestlog import Call, request_log_write

# The server puts a callable here that marks the connection for closing without an answer.
ON_DROP = "graph_sandbox.on_drop"
GRAPH_PREFIX = "/v1.0/"


class DropConnection(ConnectionAbortedError):
    """Raised to make the server close the connection without an answer."""


@dataclass(frozen=True)
class Who:
    mailbox: str = ""
    client_id: str = ""


@dataclass
class Outcome:
    status: int | None = None  # None: no answer was sent
    fault: str = ""


def handle(
    request: HttpRequest, get_response: Callable[[HttpRequest], HttpResponse]
) -> HttpResponse:
    """Answer ``request`` through the concurrency limit, the fault rules and the log."""
    with store.request_scope():
        return _handle(request, get_response)


def _handle(
    request: HttpRequest, get_response: Callable[[HttpRequest], HttpResponse]
) -> HttpResponse:
    started = time.monotonic()
    request.graph_sandbox_request_id = request_id()
    target = "graph" if request.path.startswith(GRAPH_PREFIX) else "identity"
    who = _identify(request, target)
    outcome = Outcome()
    try:
        with _mailbox_slot(target, who) as admitted:
            if not admitted:
                outcome.fault = "concurrency"
                response = _concurrency_refusal(request)
            else:
                decision = faults.decide(target=target, mailbox_address=who.mailbox)
                outcome.fault = decision.kind
                response = _answer(request, get_response, decision, target)
        outcome.status = response.status_code
        return response
    finally:
        _log(request, who, outcome, started)


@contextmanager
def _mailbox_slot(target: str, who: Who) -> Iterator[bool]:
    """Hold one of the (app, mailbox)'s concurrent slots; False when all are taken."""
    if target != "graph" or not who.mailbox:
        yield True
        return
    key = (who.client_id, who.mailbox)
    admitted = faults.GATE.enter(key, store.request_settings().mailbox_concurrency)
    try:
        yield admitted
    finally:
        if admitted:
            faults.GATE.leave(key)


def _log(request: HttpRequest, who: Who, outcome: Outcome, started: float) -> None:
    request_log_write(
        Call(
            method=request.method or "",
            path=request.path,
            query=request.META.get("QUERY_STRING", ""),
            status=outcome.status,
            latency_ms=(time.monotonic() - started) * 1000,
            mailbox=who.mailbox,
            client_id=who.client_id,
            fault=outcome.fault,
            request_id=request.graph_sandbox_request_id,
        )
    )


def _answer(
    request: HttpRequest,
    get_response: Callable[[HttpRequest], HttpResponse],
    decision: faults.Decision,
    target: str,
) -> HttpResponse:
    if decision.latency_seconds:
        time.sleep(decision.latency_seconds)
    if decision.kind == "slow":
        time.sleep(decision.slow_seconds)
    if decision.kind in ("429", "503"):
        return _fault_response(request, decision, target)
    if decision.kind == "unlicensed":
        return graph_error_response(
            request,
            GraphError(
                404,
                "MailboxNotEnabledForRESTAPI",
                "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
            ),
        )
    if decision.kind == "drop":
        _drop(request)
    response = get_response(request)
    if decision.kind == "drop_after":
        _drop(request)
    return response


def _drop(request: HttpRequest) -> None:
    mark = request.META.get(ON_DROP)
    if mark is not None:
        mark()
    raise DropConnection("fault injection: dropped connection")


def _fault_response(request: HttpRequest, decision: faults.Decision, target: str) -> HttpResponse:
    retry_after = str(decision.retry_after_seconds)
    if target == "identity":
        code = 90055 if decision.kind == "429" else 90006
        response: JsonResponse = identity_error_response(
            request, IdentityError(code), now=sandbox_now()
        )
        response.status_code = int(decision.kind)
    elif decision.kind == "429":
        response = graph_error_response(
            request, GraphError(429, "TooManyRequests", "Please retry again later.")
        )
    else:
        response = graph_error_response(
            request,
            GraphError(
                503,
                "serviceNotAvailable",
                "The service is temporarily unavailable. Please retry after a short delay.",
            ),
        )
    response["Retry-After"] = retry_after
    return response


def _concurrency_refusal(request: HttpRequest) -> HttpResponse:
    response = graph_error_response(
        request,
        GraphError(
            429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit."
        ),
    )
    response["Retry-After"] = "1"
    return response


def _identify(request: HttpRequest, target: str) -> Who:
    """Mailbox and app behind a call, when they can be told; never refuses anything."""
    if target == "graph":
        try:
            caller = caller_for(request)
        except GraphError:
            return Who()
        return Who(caller.mailbox.address, caller.app.client_id)
    if request.method != "POST" or not request.path.endswith("/token"):
        return Who()
    form = request.POST
    secret = form.get("refresh_token") or form.get("code")
    if not secret:
        return Who(client_id=form.get("client_id", ""))
    model = RefreshToken if form.get("refresh_token") else AuthorizationCode
    field = "token_hash" if model is RefreshToken else "code_hash"
    address = (
        model.objects.filter(**{field: sha256_hex(secret)})
        .values_list("mailbox__address", flat=True)
        .first()
    )
    return Who(address or "", form.get("client_id", ""))
