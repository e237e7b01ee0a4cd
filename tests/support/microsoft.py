"""Microsoft's exact answers, for unit tests that fake the HTTP boundary with ``responses``.

Only shapes are faked here (discovery document, token answers, Graph JSON and
error bodies as Microsoft documents them); the product code under test is the
real MSAL + requests path. Whole flows run against the Graph sandbox instead.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import responses

AUTHORITY = "https://login.microsoftonline.com/common"
GRAPH = "https://graph.microsoft.com/v1.0"
TOKEN_URL = "https://login.microsoftonline.com/common/oauth2/v2.0/token"
DISCOVERY_URL = "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
USER_OID = "00000000-0000-0000-66f3-3332eca7ea81"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_jwt(claims: dict) -> str:
    header = b64url(json.dumps({"typ": "JWT", "alg": "RS256", "kid": "test"}).encode())
    return f"{header}.{b64url(json.dumps(claims).encode())}.c2lnbmF0dXJl"


def discovery_document() -> dict:
    base = "https://login.microsoftonline.com/{tenantid}"
    return {
        "authorization_endpoint": f"{AUTHORITY}/oauth2/v2.0/authorize",
        "token_endpoint": TOKEN_URL,
        "issuer": f"{base}/v2.0",
        "jwks_uri": f"{AUTHORITY}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
    }


def invalid_grant_body(code: int, text: str) -> dict:
    """The exact shape of Microsoft's token endpoint refusal (HTTP 400)."""
    return {
        "error": "invalid_grant",
        "error_description": f"AADSTS{code}: {text} Trace ID: 0f5c1f5e-2a0b-4a56-9c63-"
        "4ab7d3a1d800 Correlation ID: 8b1e4a52-6a2f-4d0f-9a8e-6a0a4f7f2c11 "
        "Timestamp: 2026-03-02 10:15:27Z",
        "error_codes": [code],
        "timestamp": "2026-03-02 10:15:27Z",
        "trace_id": "0f5c1f5e-2a0b-4a56-9c63-4ab7d3a1d800",
        "correlation_id": "8b1e4a52-6a2f-4d0f-9a8e-6a0a4f7f2c11",
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }


INVALID_GRANT_700082 = invalid_grant_body(
    700082,
    "The refresh token has expired due to inactivity. The token was issued on "
    "2025-12-01T10:15:27.0000000Z and was inactive for 90.00:00:00.",
)
INVALID_GRANT_70008 = invalid_grant_body(
    70008,
    "The provided authorization code or refresh token has expired due to inactivity. "
    "Send a new interactive authorization request for this user and resource.",
)
INVALID_GRANT_50173 = invalid_grant_body(
    50173,
    "The provided grant has expired due to it being revoked, a fresh auth token is needed. "
    "The user might have changed or reset their password.",
)
# A tenant's Conditional Access sign-in frequency ran out (Microsoft's error-code reference:
# BadTokenDueToInteractionRequired).
INVALID_GRANT_70043 = {
    **invalid_grant_body(
        70043,
        "The refresh token has expired or is invalid due to sign-in frequency checks by "
        "conditional access. The token was issued on 2026-02-28T10:15:27.0000000Z and the "
        "maximum allowed lifetime for this request is 86400.",
    ),
    "suberror": "bad_token",
}
INTERACTION_REQUIRED = {
    **invalid_grant_body(
        50076,
        "Due to a configuration change made by your administrator, or because you moved to "
        "a new location, you must use multi-factor authentication to access '00000003-0000-"
        "0000-c000-000000000000'.",
    ),
    "error": "interaction_required",
    "suberror": "basic_action",
}
# Consent withdrawn (by the host, or an admin for the tenant): Microsoft's usual answer to
# the refresh is invalid_grant with this suberror, and its error-code reference also names
# a bare consent_required error from the token endpoint ("send the user back to /authorize").
INVALID_GRANT_65001 = {
    **invalid_grant_body(
        65001,
        "The user or administrator has not consented to use the application with ID "
        "'11111111-2222-3333-4444-555555555555' named 'ScheduleOnce'. Send an interactive "
        "authorization request for this user and resource.",
    ),
    "suberror": "consent_required",
}
CONSENT_REQUIRED = {**INVALID_GRANT_65001, "error": "consent_required"}
GRAPH_401 = {
    "error": {
        "code": "InvalidAuthenticationToken",
        "message": "Access token has expired or is not yet valid.",
        "innerError": {
            "date": "2026-03-02T10:15:27",
            "request-id": "5f0a8c7e-1d9b-4c6a-8f2e-3b7d9e1a0c44",
            "client-request-id": "5f0a8c7e-1d9b-4c6a-8f2e-3b7d9e1a0c44",
        },
    }
}
GRAPH_429 = {
    "error": {
        "code": "ApplicationThrottled",
        "message": "Application is over its MailboxConcurrency limit.",
        "innerError": {"date": "2026-03-02T10:15:27", "request-id": "a1b2"},
    }
}
GRAPH_503 = {
    "error": {
        "code": "ServiceUnavailable",
        "message": "Service Unavailable",
        "innerError": {"date": "2026-03-02T10:15:27", "request-id": "c3d4"},
    }
}
GRAPH_404 = {
    "error": {
        "code": "ErrorItemNotFound",
        "message": "The specified object was not found in the store.",
        "innerError": {"date": "2026-03-02T10:15:27", "request-id": "e5f6"},
    }
}


@dataclass
class FakeMicrosoft:
    """Microsoft's identity platform and Graph ``/me`` as ``responses`` answers.

    Records every token it issued (``issued``) and every token request (``requests``).
    ``refusals`` queues (status, body) or (status, body, headers) answers for the next
    refresh-token grants.
    """

    mock: responses.RequestsMock
    email: str = "alice@contoso.com"
    issued: list[str] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    refusals: list[tuple] = field(default_factory=list)
    # An error answer for the next authorization-code redemption.
    code_refusal: dict | None = None
    nonce_hash: str = ""
    oid: str = USER_OID
    # The ID token's preferred_username when it is not the mailbox's address (else email).
    preferred_username: str = ""
    extra_calendars: list[dict] = field(default_factory=list)
    dropped_calendars: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.mock.add(responses.GET, DISCOVERY_URL, json=discovery_document())
        self.mock.add_callback(responses.GET, f"{GRAPH}/me", callback=self._me)
        self.mock.add_callback(responses.POST, TOKEN_URL, callback=self._token_endpoint)
        self.mock.add_callback(responses.GET, f"{GRAPH}/me/calendars", callback=self._calendars)

    def switch_account(self, *, email: str, oid: str) -> None:
        """From now on, sign-ins are by another Microsoft account."""
        self.email, self.oid = email, oid

    def _me(self, request):
        me = {
            "id": self.oid,
            "displayName": self.email.split("@")[0].title(),
            "mail": self.email,
            "userPrincipalName": self.email,
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(me)

    def _calendars(self, request):
        items = [c for c in self.calendars() if c["name"] not in self.dropped_calendars]
        body = {"value": items + self.extra_calendars}
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    def calendars(self) -> list[dict]:
        """An owned default calendar, an owned second one, a shared one and a room."""

        def item(cid, name, owner, *, default=False, edit=True, color="#0b63ce"):
            return {
                "id": cid,
                "name": name,
                "color": "auto",
                "hexColor": color,
                "changeKey": "nfZyf7VcrEKLNoU37KWlkQAAA0x0+w==",
                "canShare": owner == self.email,
                "canViewPrivateItems": owner == self.email,
                "canEdit": edit,
                "isDefaultCalendar": default,
                "isRemovable": not default,
                "allowedOnlineMeetingProviders": ["teamsForBusiness"],
                "defaultOnlineMeetingProvider": "teamsForBusiness",
                "owner": {"name": owner.split("@")[0].title(), "address": owner},
            }

        return [
            item("AAMkADefault=", "Calendar", self.email, default=True),
            item("AAMkADwork=", "Client work", self.email, color="#127a3a"),
            item("AAMkADshared=", "Bob's calendar", "bob@contoso.com", edit=True),
            item("AAMkADroom=", "Room 4.12", "room412@contoso.com", edit=False, color=""),
        ]

    def _new_secret(self, kind: str) -> str:
        seed = f"{kind}{len(self.issued)}{time.time_ns()}".encode()
        value = f"{kind}.{hashlib.sha256(seed).hexdigest()}"
        self.issued.append(value)
        return value

    def token_answer(self) -> dict:
        now = int(time.time())
        claims = {
            "aud": CLIENT_ID,
            "iss": f"https://login.microsoftonline.com/{TENANT}/v2.0",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "name": "Alice Host",
            "oid": self.oid,
            "preferred_username": self.preferred_username or self.email,
            "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
            "tid": TENANT,
            "ver": "2.0",
            "nonce": self.nonce_hash,
        }
        return {
            "token_type": "Bearer",
            "scope": "Calendars.ReadWrite User.Read openid profile",
            "expires_in": 3599,
            "ext_expires_in": 3599,
            "access_token": self._new_secret("access"),
            "refresh_token": self._new_secret("refresh"),
            "id_token": unsigned_jwt(claims),
            "client_info": b64url(json.dumps({"uid": self.oid, "utid": TENANT}).encode()),
        }

    def _token_endpoint(self, request):
        body = {k: v[0] for k, v in parse_qs(request.body).items()}
        self.requests.append(body)
        if body.get("grant_type") == "authorization_code" and self.code_refusal:
            payload, self.code_refusal = self.code_refusal, None
            return 400, {"Content-Type": "application/json"}, json.dumps(payload)
        if body.get("grant_type") == "refresh_token" and self.refusals:
            status, payload, *headers = self.refusals.pop(0)
            answer_headers = {"Content-Type": "application/json", **(headers[0] if headers else {})}
            return status, answer_headers, json.dumps(payload)
        return 200, {"Content-Type": "application/json"}, json.dumps(self.token_answer())

    def sign_in(self, provider, *, redirect_uri: str = "http://testserver/cb/"):
        """Run the provider's real start/finish sign-in against these answers; returns the Grant."""
        sign_in = provider.start_sign_in(redirect_uri=redirect_uri)
        query = parse_qs(sign_in.url.split("?", 1)[1])
        self.nonce_hash = query["nonce"][0]
        return provider.finish_sign_in(
            flow=sign_in.flow, response={"code": "M.C507_BAY.2.U.code", "state": sign_in.state}
        )

    def connect(self, host, *, reconnect: bool = False):
        """Connect ``host`` through the real services (start + complete); returns the result.

        ``reconnect``: the host pressed **Reconnect** on a live connection (a new sign-in).
        """
        from calendars.services.connections import connection_complete, connection_start

        sign_in = connection_start(
            host=host,
            provider_key="office365",
            redirect_uri="http://testserver/cb/",
            reconnect=reconnect,
        )
        self.nonce_hash = parse_qs(sign_in.url.split("?", 1)[1])["nonce"][0]
        return connection_complete(
            host=host,
            provider_key="office365",
            flow=sign_in.flow,
            response={"code": "M.C507_BAY.2.U.code", "state": sign_in.state},
        )

    def refresh_requests(self) -> list[dict]:
        return [r for r in self.requests if r.get("grant_type") == "refresh_token"]
