"""The validation handshake Graph performs before it creates a subscription.

Graph POSTs ``{notificationUrl}?validationToken={token}`` (the token URL-encoded,
an empty ``text/plain`` body) and expects, within 10 seconds, ``200 OK``, a
``text/plain`` answer and the *decoded* token as its body, exactly. The token
is opaque text (Graph's have spaces and colons, so an app that forgets to
decode fails). Otherwise the create answers 400 and nothing is stored.
"""

from __future__ import annotations

import time
import uuid
from urllib.parse import quote_plus, urlsplit, urlunsplit

import requests

from graph_sandbox.graph.errors import GraphError
from graph_sandbox.subscriptions import deliverylog
from graph_sandbox.subscriptions.http import session

TIMEOUT_SECONDS = 10.0

FAILED_200 = (
    "Subscription validation request failed. Notification endpoint must respond with "
    "200 OK to validation request."
)
FAILED_MATCH = (
    "Subscription validation request failed. Response must exactly match validationToken "
    "query parameter."
)
FAILED_TYPE = (
    "Subscription validation request failed. The response must have the content type text/plain."
)
TIMED_OUT = "Subscription validation request timed out."


def new_token() -> str:
    """An opaque token shaped like Graph's (it needs URL-decoding)."""
    return (
        "Validation: Testing client application reachability for subscription "
        f"Request-Id: {uuid.uuid4()}"
    )


def with_token(url: str, token: str) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit(parts._replace(query=f"{query}validationToken={quote_plus(token)}"))


def validate_endpoint(url: str, *, subscription_id: str, mailbox: str) -> None:
    """Run the handshake against ``url``; Graph's 400 (and a log entry) when it fails."""
    token = new_token()
    started = time.monotonic()
    status: int | None = None
    try:
        answer = session().post(
            with_token(url, token),
            data=b"",
            headers={"Content-Type": "text/plain; charset=utf-8"},
            timeout=TIMEOUT_SECONDS,
            allow_redirects=False,
        )
        status = answer.status_code
        problem = _judge(answer, token)
    except requests.Timeout:
        problem = GraphError(400, "InvalidRequest", TIMED_OUT)
    except requests.RequestException:
        problem = GraphError(400, "ValidationError", FAILED_200)
    deliverylog.record(
        kind="validation",
        url=url,
        subscription_ids=[subscription_id],
        mailboxes=[mailbox],
        body=token,
        status=status,
        outcome="refused" if problem else "validated",
        detail=problem.message if problem else "",
        latency_ms=(time.monotonic() - started) * 1000,
    )
    if problem:
        raise problem


def _judge(answer: requests.Response, token: str) -> GraphError | None:
    if answer.status_code != 200:
        return GraphError(400, "ValidationError", FAILED_200)
    content_type = answer.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type != "text/plain":
        return GraphError(400, "ValidationError", FAILED_TYPE)
    if answer.content.decode("utf-8", "replace") != token:
        return GraphError(400, "ValidationError", FAILED_MATCH)
    return None
