"""App registrations: who the client is, whether its secret is right, where it may return.

Redirect URIs match exactly, except that for ``http://localhost`` and
``http://127.0.0.1`` the port is ignored, as Microsoft documents ("Localhost
exceptions", after RFC 8252): a native or local app may listen on any port.
"""

from __future__ import annotations

import hmac
from urllib.parse import SplitResult, urlsplit

from graph_sandbox.identity.errors import IdentityError
from graph_sandbox.ids import sha256_hex
from graph_sandbox.models import AppRegistration

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1"})


def app_for_client_id(*, client_id: str, tenant_label: str) -> AppRegistration:
    """The registration for ``client_id``; 700016 when unknown."""
    if not client_id:
        raise IdentityError(900144, parameter="client_id")
    app = AppRegistration.objects.filter(client_id=client_id).select_related("tenant").first()
    if app is None:
        raise IdentityError(700016, client_id=client_id, tenant=tenant_label)
    return app


def check_client_secret(*, app: AppRegistration, secret: str) -> None:
    """7000218 when no secret was sent, 7000215 when it is wrong."""
    if not secret:
        raise IdentityError(7000218)
    if not hmac.compare_digest(sha256_hex(secret), app.secret_hash):
        raise IdentityError(7000215, client_id=app.client_id)


def check_redirect_uri(*, app: AppRegistration, redirect_uri: str) -> None:
    """50011 unless ``redirect_uri`` matches one the app registered."""
    if not any(redirect_uri_matches(registered, redirect_uri) for registered in app.redirect_uris):
        raise IdentityError(50011, redirect_uri=redirect_uri, client_id=app.client_id)


def redirect_uri_matches(registered: str, requested: str) -> bool:
    """Exact match, or the same loopback URI on another port."""
    if registered == requested:
        return True
    want, got = urlsplit(registered), urlsplit(requested)
    return (
        _has_valid_port(want)
        and _has_valid_port(got)
        and got.scheme == want.scheme
        and got.scheme in ("http", "https")
        and (got.hostname or "") in LOOPBACK_HOSTS
        and got.hostname == want.hostname
        and got.path == want.path
        and got.query == want.query
        and not got.fragment
    )


def _has_valid_port(parts: SplitResult) -> bool:
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        return False
    return True
