"""Building the MSAL confidential client, in exactly one place.

Against Microsoft (``login.microsoftonline.com``) MSAL validates the authority;
against any other faithful implementation (the Graph sandbox, a test double)
it does not. Instance discovery is always off: it would call Microsoft's
discovery host even for another authority. All apps in a process share one
``http_cache`` so the OpenID discovery document is fetched once a day, not on
every request.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import msal
import requests
from django.conf import settings

from calendars.providers.office365.graph import retry_after, shared_session

# Delegated Graph permissions. MSAL adds openid, profile and offline_access itself
# (and refuses them if passed), so the flow asks for all of
# `offline_access User.Read Calendars.ReadWrite`.
SCOPES = ["User.Read", "Calendars.ReadWrite"]
# Graph's resource: token answers may name the scopes with it ("https://graph.microsoft.com/
# Calendars.ReadWrite", as Microsoft's documentation shows) or without (as live answers
# commonly do), in any case; they are the same permissions.
GRAPH_RESOURCE = "https://graph.microsoft.com/"
MICROSOFT_AUTHORITY_HOST = "login.microsoftonline.com"

_HTTP_CACHE: dict = {}


def is_microsoft_authority(authority: str) -> bool:
    return (urlsplit(authority).hostname or "").lower() == MICROSOFT_AUTHORITY_HOST


class RetryAfterWatch:
    """MSAL's HTTP client: the shared session, noting the ``Retry-After`` (in seconds) of
    the last throttled or failed answer, which MSAL itself does not hand back.

    Make one per MSAL call. An answer MSAL serves from its own throttle cache (the same
    refusal again within its Retry-After) does not pass here and leaves ``retry_after``
    None.
    """

    def __init__(self, session: requests.Session | None = None) -> None:
        self._session = session or shared_session()
        self.retry_after: float | None = None

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self._watch(self._session.post(url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self._watch(self._session.get(url, **kwargs))

    def close(self) -> None:
        """The session is the process's: it stays open."""

    def _watch(self, response: requests.Response) -> requests.Response:
        throttled = response.status_code == 429 or response.status_code >= 500
        self.retry_after = retry_after(response.headers) if throttled else None
        return response


def msal_app_kwargs(
    *, token_cache: msal.TokenCache | None = None, http_client: Any = None
) -> dict[str, Any]:
    """The keyword arguments of our ``ConfidentialClientApplication``, from settings."""
    authority = settings.MS_AUTHORITY
    return {
        "client_id": settings.MS_CLIENT_ID,
        "client_credential": settings.MS_CLIENT_SECRET,
        "authority": authority,
        "token_cache": token_cache,
        "http_client": http_client or shared_session(),
        "http_cache": _HTTP_CACHE,
        "instance_discovery": False,
        "validate_authority": is_microsoft_authority(authority),
    }


def build_msal_app(
    *, token_cache: msal.TokenCache | None = None, http_client: Any = None
) -> msal.ConfidentialClientApplication:
    """A confidential client for our Azure app registration (fetches discovery on first use).

    Raises ValueError/requests errors when the authority cannot be reached; callers
    map those to ProviderError.
    """
    kwargs = msal_app_kwargs(token_cache=token_cache, http_client=http_client)
    client_id = kwargs.pop("client_id")
    return msal.ConfidentialClientApplication(client_id, **kwargs)


def scope_name(scope: str) -> str:
    """A Graph permission's name whichever way it is spelled (``calendars.readwrite``)."""
    name = scope.lower()
    return name[len(GRAPH_RESOURCE) :] if name.startswith(GRAPH_RESOURCE) else name


def scopes_as_granted(granted: str) -> list[str] | None:
    """``SCOPES`` spelled as ``granted`` (a cached token's space-separated scopes) spells
    them, or None if it does not cover them all.

    MSAL finds a cached access token only for scopes spelled as the token answer spelled
    them; asked in another form, it refreshes on every call.
    """
    spelled = {scope_name(scope): scope for scope in granted.split()}
    wanted = [spelled.get(scope_name(scope)) for scope in SCOPES]
    return None if None in wanted else wanted
