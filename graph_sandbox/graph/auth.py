"""Bearer tokens on Graph calls: who is calling, for which mailbox, with which permissions."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import HttpRequest

from graph_sandbox.clock import sandbox_now
from graph_sandbox.graph.errors import GraphError
from graph_sandbox.identity.tokens import GRAPH_APP_ID
from graph_sandbox.ids import sha256_hex
from graph_sandbox.models import AccessToken, AppRegistration, Mailbox
from ops.compiled_queries import query_objects, reads

READ_CALENDARS = ("Calendars.Read", "Calendars.ReadWrite")
WRITE_CALENDARS = ("Calendars.ReadWrite",)
READ_PROFILE = ("User.Read",)


@dataclass(frozen=True)
class Caller:
    """The signed-in user and app behind a Graph call."""

    mailbox: Mailbox
    app: AppRegistration
    scopes: tuple[str, ...]

    def require(self, any_of: tuple[str, ...]) -> None:
        """403 unless the token carries one of the permissions ``any_of``."""
        if not set(any_of) & set(self.scopes):
            raise GraphError(
                403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
            )


def bearer_token(request: HttpRequest) -> str:
    # From META, as WSGI names the header: ``request.headers`` would copy every header first.
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def caller_for(request: HttpRequest) -> Caller:
    """The caller of a Graph request; 401 with Graph's message when the token is not good."""
    cached = getattr(request, "graph_sandbox_caller", None)
    if cached is not None:
        return cached
    token = bearer_token(request)
    if not token:
        raise _unauthorized(request, "Access token is empty.")
    found = query_objects(_access_token, sha256_hex(token))  # every Graph call: compiled once
    row = found[0] if found else None
    if row is None:
        message = (
            "Access token validation failure. Invalid audience."
            if token.count(".") == 2
            else "IDX14100: JWT is not well formed, there are no dots (.)."
        )
        raise _unauthorized(request, message)
    if row.revoked_at is not None:
        raise _unauthorized(
            request,
            "Continuous access evaluation resulted in challenge with result: "
            "InteractionRequired and code: TokenIssuedBeforeRevocationTimestamp",
            error="insufficient_claims",
        )
    if row.expires_at <= sandbox_now():
        raise _unauthorized(request, "Lifetime validation failed, the token is expired.")
    caller = Caller(mailbox=row.mailbox, app=row.app, scopes=tuple(row.scopes))
    request.graph_sandbox_caller = caller
    return caller


@reads(AccessToken)
def _access_token(token_hash: str) -> QuerySet[AccessToken]:
    rows = AccessToken.objects.select_related("mailbox__tenant", "app")
    return rows.filter(token_hash=token_hash).order_by("pk")[:1]


def _unauthorized(request: HttpRequest, message: str, error: str = "") -> GraphError:
    base = request.build_absolute_uri("/").rstrip("/")
    challenge = (
        f'Bearer realm="", authorization_uri="{base}/common/oauth2/authorize", '
        f'client_id="{GRAPH_APP_ID}"'
    )
    if error:
        challenge += f', error="{error}"'
    return GraphError(
        401, "InvalidAuthenticationToken", message, headers={"WWW-Authenticate": challenge}
    )
