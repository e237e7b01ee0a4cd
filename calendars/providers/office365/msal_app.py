"""Building the MSAL confidential client, in exactly one place.

Against Microsoft (``login.microsoftonline.com``) MSAL validates the authority;
against any other faithful implementation (the Graph sandbox, a test double)
it does not. Instance discovery is always off: it would call Microsoft's
discovery host even for another authority. All apps in a process share one
``http_cache`` so the OpenID discovery document is fetched once a day, not on
every request.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any
from urllib.parse import urlsplit

import msal
import requests
from django.conf import settings

from calendars.providers.office365.graph import retry_after, shared_session
from calendars.providers.office365.limits import MAX_RETRY_AFTER

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


# What MSAL does with a throttled answer of the token endpoint (429, any 5xx, or any answer
# with Retry-After; msal/throttled_http_client.py): it keeps the answer in ``http_cache``
# and hands it back, without asking Microsoft, to the same request until Retry-After
# (whole seconds; 5 when absent or a date; at most 3,600) has passed.
MSAL_THROTTLE_DEFAULT = 5
MSAL_THROTTLE_LIMIT = 3600
# Written on a throttled answer before MSAL keeps it (MSAL keeps every header): when, in
# seconds since the epoch, MSAL stops handing it back.
REPLAYED_UNTIL = "X-ScheduleOnce-Replayed-Until"


def _msal_keeps(status: int, headers: Mapping[str, str]) -> int:
    """Seconds MSAL keeps this answer in its throttle cache (0: not kept for Retry-After)."""
    value = headers.get("Retry-After")
    if not (status == 429 or status >= 500 or value is not None):
        return 0
    try:
        seconds = int(value) if value is not None else MSAL_THROTTLE_DEFAULT
    except ValueError:
        seconds = MSAL_THROTTLE_DEFAULT
    return min(MSAL_THROTTLE_LIMIT, seconds)


class RetryAfterWatch:
    """MSAL's HTTP client: the shared session, noting the ``Retry-After`` (in seconds) of
    the last throttled or failed answer, which MSAL itself does not hand back: Microsoft's,
    or MSAL's own hold on the answer when that is longer (no Retry-After on a 5xx: 5 s).

    Make one per MSAL call, and give MSAL ``http_cache`` (not the process's cache
    itself): an answer MSAL hands back from its throttle cache never reaches ``post``,
    so the cache tells the watch how long MSAL will go on handing it back.
    """

    def __init__(self, session: requests.Session | None = None) -> None:
        self._session = session or shared_session()
        self.retry_after: float | None = None
        self.http_cache = _WatchedHttpCache(_HTTP_CACHE, self)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self._watch(self._session.post(url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self._watch(self._session.get(url, **kwargs))

    def close(self) -> None:
        """The session is the process's: it stays open."""

    def _watch(self, response: requests.Response) -> requests.Response:
        throttled = response.status_code == 429 or response.status_code >= 500
        self.retry_after = retry_after(response.headers) if throttled else None
        kept = _msal_keeps(response.status_code, response.headers)
        if kept:
            # The later of Microsoft's Retry-After (it may be a date, which MSAL reads as 5
            # seconds) and MSAL's own hold: a retry before it only gets the copy again.
            self.retry_after = max(float(kept), self.retry_after or 0.0)
            response.headers[REPLAYED_UNTIL] = f"{time.time() + self.retry_after:.3f}"
        return response

    def replayed(self, answer: Any) -> None:
        """MSAL is handing back ``answer`` from its throttle cache: the wait is what is left
        of its hold, in whole seconds (at least 1)."""
        until = _replayed_until(answer)
        if until is not None:
            left = min(MAX_RETRY_AFTER, math.ceil(until - time.time()))
            self.retry_after = float(max(1, left))


def _replayed_until(answer: Any) -> float | None:
    headers = getattr(answer, "headers", None)
    if not isinstance(headers, Mapping):
        return None
    # MSAL keeps the headers with lowercased names.
    value = headers.get(REPLAYED_UNTIL.lower()) or headers.get(REPLAYED_UNTIL)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class _WatchedHttpCache(MutableMapping):
    """The process's MSAL ``http_cache`` as one watch sees it: every entry MSAL reads is
    the shared one; a throttled answer read from it is reported to the watch."""

    def __init__(self, shared: dict, watch: RetryAfterWatch) -> None:
        self._shared = shared
        self._watch = watch

    def __getitem__(self, key: Any) -> Any:
        value = self._shared[key]
        self._watch.replayed(value)
        return value

    def get(self, key: Any, default: Any = None) -> Any:
        # MSAL reads its own index (and entries it is about to drop) with get and pop:
        # those are no answers handed back.
        return self._shared.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._shared

    def pop(self, key: Any, *default: Any) -> Any:
        return self._shared.pop(key, *default)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._shared[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._shared[key]

    def __iter__(self) -> Iterator:
        return iter(self._shared)

    def __len__(self) -> int:
        return len(self._shared)


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
        "http_cache": getattr(http_client, "http_cache", _HTTP_CACHE),
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
