"""The identity platform's errors: ``error`` plus an ``AADSTS…`` description.

Bodies have Microsoft's shape: ``error``, ``error_description`` (``AADSTS<n>: …
Trace ID: … Correlation ID: … Timestamp: …``), ``error_codes``, ``timestamp``,
``trace_id``, ``correlation_id``, ``error_uri`` and, where Microsoft sends one,
``suberror``. Clients should branch on ``error``; the numbers are for people.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.http import HttpRequest, JsonResponse

from graph_sandbox.headers import request_header

# code: (error, message template)
CATALOGUE: dict[int, tuple[str, str]] = {
    50011: (
        "invalid_request",
        "The redirect URI '{redirect_uri}' specified in the request does not match the "
        "redirect URIs configured for the application '{client_id}'. Make sure the redirect "
        "URI sent in the request matches one added to your application in the Azure portal. "
        "Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix "
        "this.",
    ),
    50058: ("login_required", "A silent sign-in request was sent but no user is signed in."),
    50126: (
        "invalid_grant",
        "Error validating credentials due to invalid username or password.",
    ),
    50148: (
        "invalid_grant",
        "The code_verifier does not match the code_challenge supplied in the authorization "
        "request for PKCE.",
    ),
    50173: (
        "invalid_grant",
        "The provided grant has expired due to it being revoked, a fresh auth token is "
        "needed. The user might have changed or reset their password. The grant was issued "
        "on '{issued}' and the TokensValidFrom date (before which tokens are not valid) for "
        "this user is '{valid_from}'.",
    ),
    54005: (
        "invalid_grant",
        "OAuth2 Authorization code was already redeemed, please retry with a new valid code "
        "or use an existing refresh token.",
    ),
    65001: (
        "invalid_grant",
        "The user or administrator has not consented to use the application with ID "
        "'{client_id}' named '{app_name}'. Send an interactive authorization request for "
        "this user and resource.",
    ),
    65004: ("access_denied", "User declined to consent to access the app."),
    70000: ("invalid_grant", "Provided grant is invalid or malformed."),
    70003: ("unsupported_grant_type", "The app requested an unsupported grant type '{grant}'."),
    70005: (
        "unsupported_response_type",
        "response_type '{response_type}' is not enabled for the application.",
    ),
    70008: (
        "invalid_grant",
        "The provided authorization code or refresh token has expired due to inactivity. "
        "Send a new interactive authorization request for this user and resource.",
    ),
    70011: (
        "invalid_scope",
        "The provided value for the input parameter 'scope' is not valid. The scope "
        "'{scope}' does not exist.",
    ),
    90002: (
        "invalid_tenant",
        "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and "
        "are signing into the correct cloud. Check with your subscription administrator, "
        "this may happen if there are no active subscriptions for the tenant.",
    ),
    90006: ("temporarily_unavailable", "The service is temporarily unavailable."),
    90055: (
        "temporarily_unavailable",
        "There are too many incoming requests. Please retry after some time.",
    ),
    500112: (
        "invalid_grant",
        "The reply address '{redirect_uri}' does not match the reply address '{expected}' "
        "provided when requesting Authorization code.",
    ),
    501481: (
        "invalid_grant",
        "The Code_Verifier does not match the code_challenge supplied in the authorization "
        "request.",
    ),
    501491: ("invalid_request", "Invalid size of Code_Challenge parameter."),
    700016: (
        "unauthorized_client",
        "Application with identifier '{client_id}' was not found in the directory "
        "'{tenant}'. This can happen if the application has not been installed by the "
        "administrator of the tenant or consented to by any user in the tenant. You may have "
        "sent your authentication request to the wrong tenant.",
    ),
    700082: (
        "invalid_grant",
        "The refresh token has expired due to inactivity. The token was issued on {issued} "
        "and was inactive for 90.00:00:00.",
    ),
    900144: (
        "invalid_request",
        "The request body must contain the following parameter: '{parameter}'.",
    ),
    900561: (
        "invalid_request",
        "The endpoint only accepts POST requests. Received a {method} request.",
    ),
    7000215: (
        "invalid_client",
        "Invalid client secret provided. Ensure the secret being sent in the request is the "
        "client secret value, not the client secret ID, for a secret added to app "
        "'{client_id}'.",
    ),
    7000218: (
        "invalid_client",
        "The request body must contain the following parameter: 'client_assertion' or "
        "'client_secret'.",
    ),
    9002313: ("invalid_request", "Invalid request. Request is malformed or invalid."),
}

# invalid_client answers 401, the rest 400 (or what the caller says).
STATUS_BY_ERROR = {"invalid_client": 401, "temporarily_unavailable": 503}


class IdentityError(Exception):
    """A refusal by the identity platform, with its AADSTS code."""

    def __init__(self, code: int, *, suberror: str = "", error: str = "", **fields: str):
        default_error, template = CATALOGUE[code]
        self.code = code
        self.error = error or default_error
        self.message = template.format(**fields)
        self.suberror = suberror
        super().__init__(f"AADSTS{code}: {self.message}")

    @property
    def status(self) -> int:
        return STATUS_BY_ERROR.get(self.error, 400)


def error_body(exc: IdentityError, *, now: datetime, correlation_id: str, base_url: str) -> dict:
    """Microsoft's JSON error body for ``exc``."""
    trace_id = str(uuid.uuid4())
    stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    body = {
        "error": exc.error,
        "error_description": (
            f"AADSTS{exc.code}: {exc.message} Trace ID: {trace_id} "
            f"Correlation ID: {correlation_id} Timestamp: {stamp}"
        ),
        "error_codes": [exc.code],
        "timestamp": stamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"{base_url}/error?code={exc.code}",
    }
    if exc.suberror:
        body["suberror"] = exc.suberror
    return body


def correlation_id(request: HttpRequest) -> str:
    """Microsoft echoes the client's ``client-request-id`` (MSAL sends one) as correlation id."""
    given = request_header(request, "client-request-id")
    try:
        return str(uuid.UUID(given))
    except ValueError:
        return str(uuid.uuid4())


def identity_error_response(
    request: HttpRequest, exc: IdentityError, *, now: datetime
) -> JsonResponse:
    base_url = request.build_absolute_uri("/").rstrip("/")
    body = error_body(exc, now=now, correlation_id=correlation_id(request), base_url=base_url)
    response = JsonResponse(body, status=exc.status)
    response["Cache-Control"] = "no-store, no-cache"
    response["Pragma"] = "no-cache"
    return response
