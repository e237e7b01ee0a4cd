"""Scopes as the identity platform reads them for Microsoft Graph."""

from __future__ import annotations

GRAPH_RESOURCE = "https://graph.microsoft.com/"
OIDC_SCOPES = ("openid", "profile", "email", "offline_access")
# Delegated Graph permissions the sandbox knows, with the words the consent page shows.
GRAPH_SCOPES = {
    "User.Read": "Sign you in and read your profile",
    "Calendars.Read": "Read your calendars",
    "Calendars.ReadWrite": "Have full access to your calendars",
    "Calendars.Read.Shared": "Read calendars you can access",
    "Calendars.ReadWrite.Shared": "Read and write calendars you can access",
    "MailboxSettings.Read": "Read your mailbox settings",
}
OIDC_DESCRIPTIONS = {
    "openid": "Sign you in",
    "profile": "View your basic profile",
    "email": "View your email address",
    "offline_access": "Maintain access to data you have given it access to",
}
# What ".default" means for the demo app: the permissions it is registered for.
DEFAULT_PERMISSIONS = ("User.Read", "Calendars.ReadWrite")
_CANONICAL = {name.lower(): name for name in (*GRAPH_SCOPES, *OIDC_SCOPES)}


class UnknownScope(ValueError):
    def __init__(self, scope: str):
        super().__init__(scope)
        self.scope = scope


def parse_scopes(raw: str) -> list[str]:
    """Canonical scope names from a space-separated ``scope`` value, in order, once each.

    ``https://graph.microsoft.com/Calendars.ReadWrite`` and ``calendars.readwrite``
    both read as ``Calendars.ReadWrite``; ``.default`` expands to the app's
    permissions. Raises ``UnknownScope``.
    """
    result: list[str] = []
    for item in raw.split():
        name = item[len(GRAPH_RESOURCE) :] if item.lower().startswith(GRAPH_RESOURCE) else item
        if name == ".default":
            names = list(DEFAULT_PERMISSIONS)
        elif name.lower() in _CANONICAL:
            names = [_CANONICAL[name.lower()]]
        else:
            raise UnknownScope(item)
        result.extend(n for n in names if n not in result)
    return result


def resource_scopes(scopes: list[str]) -> list[str]:
    """The Graph permissions among ``scopes`` (what consent and access tokens cover)."""
    return [s for s in scopes if s in GRAPH_SCOPES]


def response_scope(scopes: list[str], *, uri_form: bool = False) -> str:
    """The ``scope`` a token response echoes: never ``offline_access``.

    ``uri_form``: Graph permissions as full URIs (``https://graph.microsoft.com/User.Read``),
    as Microsoft's documentation shows them; otherwise short names, as its live answers
    commonly do.
    """
    named = [
        GRAPH_RESOURCE + s if uri_form and s in GRAPH_SCOPES else s
        for s in scopes
        if s != "offline_access"
    ]
    return " ".join(named)


def describe(scope: str) -> str:
    return GRAPH_SCOPES.get(scope) or OIDC_DESCRIPTIONS.get(scope, scope)
