"""Graph's error bodies.

``{"error": {"code", "message", "innerError": {"date", "request-id"}}}``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.http import HttpRequest, JsonResponse

from graph_sandbox.headers import request_header
from graph_sandbox.ids import request_id as new_request_id

ODATA_JSON = (
    "application/json;odata.metadata=minimal;odata.streaming=true;"
    "IEEE754Compatible=false;charset=utf-8"
)


class GraphError(Exception):
    """A Graph refusal: HTTP status, Graph error code and message, extra headers."""

    def __init__(self, status: int, code: str, message: str, *, headers: dict | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def not_found() -> GraphError:
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def access_denied() -> GraphError:
    return GraphError(
        403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
    )


def invalid_request(message: str, code: str = "ErrorInvalidRequest") -> GraphError:
    return GraphError(400, code, message)


def bad_json() -> GraphError:
    return GraphError(
        400,
        "BadRequest",
        "Unable to read JSON request payload. Please ensure Content-Type header is set and "
        "payload is of valid JSON format.",
    )


def request_ids(request: HttpRequest) -> tuple[str, str]:
    """(request-id, client-request-id) for this call; the client's id is echoed."""
    rid = getattr(request, "graph_sandbox_request_id", "") or new_request_id()
    return rid, request_header(request, "client-request-id") or rid


def graph_error_response(request: HttpRequest, exc: GraphError) -> JsonResponse:
    rid, client_rid = request_ids(request)
    body = {
        "error": {
            "code": exc.code,
            "message": exc.message,
            "innerError": {
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": rid,
                "client-request-id": client_rid,
            },
        }
    }
    response = JsonResponse(body, status=exc.status, content_type=ODATA_JSON)
    for name, value in exc.headers.items():
        response[name] = value
    response["request-id"] = rid
    response["client-request-id"] = client_rid
    return response
