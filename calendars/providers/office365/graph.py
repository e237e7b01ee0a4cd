"""A thin Microsoft Graph client on ``requests``, and the HTTP session for Microsoft.

One pooled session per process (``shared_session``) serves Graph and, through MSAL,
the identity platform: connections are kept alive across calls and units of work,
with the configured CA bundle, and no cookies are kept. Every call has a timeout;
``@odata.nextLink`` paging is followed (only on the Graph host itself, so a token
never goes elsewhere); a 429/503/504 with a short ``Retry-After`` (seconds or an
HTTP date) is retried in place, a longer one is handed back as a temporary
:class:`ProviderError` carrying ``retry_after``. Nothing here logs a request,
a header or a token, and error messages name only the method, the path and
Graph's error code.
"""

from __future__ import annotations

import http.cookiejar
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
from django.conf import settings

from calendars.providers.base import ProviderError
from calendars.providers.office365.limits import MAX_RETRY_AFTER
from ops.deadline import seconds_left, timeout_within
from ops.logging import redact
from ops.metrics import graph_request_observe
from outbox.backoff import retry_after_seconds

logger = logging.getLogger(__name__)

# (connect, read) seconds for every call to Graph or the identity platform.
DEFAULT_TIMEOUT = (5.0, 30.0)
# Wait in place for a Retry-After of at most this many seconds, at most this often.
MAX_INLINE_WAIT = 10.0
MAX_ATTEMPTS = 3
THROTTLE_STATUSES = frozenset({429, 503, 504})
# A 404 that says nothing about the item asked for: the whole mailbox cannot be reached
# through Graph (Microsoft's "REST API is not yet supported for this mailbox" article:
# "HTTP error: 404, Error code: MailboxNotEnabledForRESTAPI or
# MailboxNotSupportedForRESTAPI"; Graph also sends it, "The mailbox is either inactive,
# soft-deleted, or is hosted on-premise.", when a user's Exchange Online licence is taken
# away). The calendar and its events may still be there, and come back with the licence.
MAILBOX_UNREACHABLE_CODES = frozenset(
    {"MailboxNotEnabledForRESTAPI", "MailboxNotSupportedForRESTAPI"}
)


class TimeoutSession(requests.Session):
    """A Session that never waits forever and ignores proxy/CA environment variables."""

    def __init__(self, *, timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> None:
        super().__init__()
        self.default_timeout = timeout
        # Without this, REQUESTS_CA_BUNDLE and proxy variables silently override verify.
        self.trust_env = False
        self.verify = settings.MS_CA_BUNDLE or True

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        # A caller waiting on this call (``ops.deadline``) cuts it short.
        kwargs["timeout"] = timeout_within(kwargs["timeout"])
        return super().request(method, url, *args, **kwargs)

    def call(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        params: dict | None = None,
        json: dict | None = None,
    ) -> requests.Response:
        """``request(method, url, headers=, params=, json=)``, answered the same, with less
        of requests' machinery per call (Graph's calls: ~half of each call's Python).

        What ``Session.request`` would do for this session and adds nothing to, it skips:
        the environment's proxies, CA bundle and ``.netrc`` (``trust_env`` is off, but it
        still asks the environment whether to bypass proxies, per call), cookies (the
        jar's policy keeps none, so an empty jar sends none and stores none) and hooks
        (none are set). The session's own ``proxies``, ``verify``, ``cert`` and headers
        apply as they would. Anything unusual (auth, hooks, cookies, a redirect) goes
        the whole way through requests.
        """
        if self.auth is not None or any(self.hooks.values()) or len(self.cookies):
            return self.request(method, url, headers=headers, params=params, json=json)
        prepared = requests.PreparedRequest()
        prepared.method = method.upper()
        prepared.prepare_url(url, params)
        merged = dict(self.headers)
        merged.update(headers)
        prepared.prepare_headers(merged)
        prepared.prepare_body(None, None, json)
        prepared.hooks = {"response": []}
        options = {
            "stream": False,
            # A caller waiting on this call (``ops.deadline``) cuts it short, as in request().
            "timeout": timeout_within(self.default_timeout),
            "verify": self.verify,
            "cert": self.cert,
            "proxies": self.proxies,
        }
        response = self.get_adapter(url).send(prepared, **options)
        if response.is_redirect:
            # As Session.send follows one (dropping the token if the host changes), with
            # the request's cookie jar as Session.request makes it (the session's is empty).
            prepared._cookies = requests.cookies.RequestsCookieJar()  # type: ignore[attr-defined]
            history = [response, *self.resolve_redirects(response, prepared, **options)]
            response = history.pop()
            response.history = history
        response.content  # noqa: B018 (read the body now, as a non-streamed request does)
        return response


def new_session() -> TimeoutSession:
    """A new session for Microsoft's endpoints (Graph and, through MSAL, the identity platform)."""
    session = TimeoutSession()
    # Microsoft's sign-in answers set routing cookies; one host's must never ride along
    # with another host's calls on a shared session.
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return session


_sessions: dict[tuple[int, str], TimeoutSession] = {}
_sessions_lock = threading.Lock()


def shared_session() -> TimeoutSession:
    """This process's pooled session for the configured CA bundle (a forked child, such as
    a Celery pool process, makes its own: pooled connections must not cross a fork)."""
    key = (os.getpid(), str(settings.MS_CA_BUNDLE or ""))
    with _sessions_lock:
        session = _sessions.get(key)
        if session is None:
            session = _sessions[key] = new_session()
        return session


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Microsoft's ``Retry-After`` in seconds (a number or an HTTP date), at most
    ``MAX_RETRY_AFTER``; None when absent or unreadable."""
    return retry_after_seconds(headers.get("Retry-After"), limit=MAX_RETRY_AFTER)


def _error_code_and_message(response: requests.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return "", ""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("code", "")), redact(str(error.get("message", "")))[:200]
    if isinstance(error, str):  # identity-platform shape, e.g. from a proxy
        return error, redact(str(body.get("error_description", "")))[:200]
    return "", ""


def _waits_in_place(wait: float) -> bool:
    """Whether a ``Retry-After`` of ``wait`` seconds is waited out here: a short one, and
    never past a waiting caller's deadline (``ops.deadline``)."""
    left = seconds_left()
    return wait <= MAX_INLINE_WAIT and (left is None or wait <= left)


def is_throttled(response: requests.Response) -> bool:
    """Graph throttled us: 429, or a 503/504 that says when to come back (Retry-After)."""
    status = response.status_code
    return status == 429 or (status in THROTTLE_STATUSES and "Retry-After" in response.headers)


def is_missing(error: ProviderError) -> bool:
    """Graph answered that the thing asked for does not exist (404 or 410), as opposed to
    a mailbox Graph cannot reach at all (``MAILBOX_UNREACHABLE_CODES``)."""
    return error.status in (404, 410) and error.code not in MAILBOX_UNREACHABLE_CODES


_DEFAULT_PORTS = {"https": 443, "http": 80}


def _origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port of ``url`` as RFC 3986 compares them: scheme and host in any
    case, and the scheme's default port whether written or not. Graph's paging page asks
    to follow ``@odata.nextLink`` as the whole URL it is, however it spells the host."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:  # a port that is not a number: matches nothing
        return (scheme, "", -1)
    return (scheme, (parts.hostname or "").lower(), port)


_REQUEST_ID = re.compile(r"[0-9A-Za-z-]{1,64}")


def _log_refusal(what: str, response: requests.Response, *, client_request_id: str) -> None:
    """One line for an error answer, with what Microsoft's support asks for to find the
    call: its ``request-id``, our ``client-request-id`` and the answer's date (Graph's
    error body carries them in ``innerError``, its headers too)."""
    request_id = response.headers.get("request-id", "")
    code, _message = _error_code_and_message(response)
    logger.info(
        "Graph %s answered %s %s (request-id %s, client-request-id %s, date %s)",
        what,
        response.status_code,
        code or "-",
        request_id if _REQUEST_ID.fullmatch(request_id) else "-",
        client_request_id,
        redact(response.headers.get("Date", "-"))[:40],
    )


def _describe(method: str, url: str) -> str:
    """Method and path only: query strings (delta tokens, times) stay out of messages."""
    return f"{method} {urlsplit(url).path}"


class GraphClient:
    """Calls Graph for one access token. Cheap to create (the session is the process's)."""

    def __init__(
        self,
        *,
        access_token: str,
        base_url: str | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._token = access_token
        self.base_url = (base_url or settings.MS_GRAPH_URL).rstrip("/")
        self._session = session or shared_session()
        self._sleep = sleep
        self._origin = _origin(self.base_url)

    def __repr__(self) -> str:  # never show the token
        return f"GraphClient({self.base_url!r})"

    # --- public calls ------------------------------------------------------------------

    def get(self, path: str, *, params: dict | None = None, headers: dict | None = None) -> dict:
        return self.request("GET", path, params=params, headers=headers) or {}

    def post(self, path: str, *, json: dict, headers: dict | None = None) -> dict:
        return self.request("POST", path, json=json, headers=headers) or {}

    def patch(self, path: str, *, json: dict, headers: dict | None = None) -> dict:
        return self.request("PATCH", path, json=json, headers=headers) or {}

    def delete(self, path: str, *, missing_ok: bool = False) -> None:
        try:
            self.request("DELETE", path)
        except ProviderError as error:
            if not (missing_ok and is_missing(error)):
                raise

    def pages(
        self, path: str, *, params: dict | None = None, headers: dict | None = None
    ) -> Iterator[dict]:
        """Yield each page of a collection, following ``@odata.nextLink``.

        Graph writes the link whole; OData lets a payload's URLs be relative to the
        request's, so one that is (``/v1.0/me/calendars?$skip=10``) is read against the
        page it came on (and must still name our Graph host: ``url_for``)."""
        url = self.url_for(path)
        page = self.get(url, params=params, headers=headers)
        yield page
        while next_link := page.get("@odata.nextLink"):
            url = urljoin(url, str(next_link))
            page = self.get(url, headers=headers)
            yield page

    def items(
        self, path: str, *, params: dict | None = None, headers: dict | None = None
    ) -> Iterator[dict]:
        """Yield every item of a collection across pages."""
        for page in self.pages(path, params=params, headers=headers):
            yield from page.get("value", [])

    # --- the one place that sends ----------------------------------------------------------

    def url_for(self, path_or_url: str) -> str:
        if path_or_url[:8].lower().startswith(("https://", "http://")):
            if _origin(path_or_url) != self._origin:
                # A link to another host must never receive our bearer token.
                raise ProviderError(
                    "Graph returned a link to another host; refusing to follow it.",
                    code="UnexpectedLink",
                )
            # Sent to the configured origin as written there (the link's host and port are
            # the same, perhaps spelt otherwise).
            parts = urlsplit(path_or_url)
            base = urlsplit(self.base_url)
            return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, ""))
        return f"{self.base_url}/{path_or_url.lstrip('/')}"

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: dict | None = None,
        json: dict | None = None,
        headers: dict | None = None,
    ) -> dict | None:
        url = self.url_for(path_or_url)
        what = _describe(method, url)
        all_headers = {
            "Authorization": f"Bearer {self._token}",
            "Accept": "application/json",
            # Ours, so an answer (and Microsoft's support) can be matched with our logs.
            "client-request-id": str(uuid.uuid4()),
        }
        all_headers.update(headers or {})
        for attempt in range(1, MAX_ATTEMPTS + 1):
            response = self._send(what, method, url, params=params, json=json, headers=all_headers)
            if response.status_code < 400:
                return self._body(response)
            wait = retry_after(response.headers)
            if (
                response.status_code in THROTTLE_STATUSES
                and wait is not None
                and _waits_in_place(wait)
                and attempt < MAX_ATTEMPTS
            ):
                logger.info(
                    "Graph %s answered %s; retrying in %.1fs", what, response.status_code, wait
                )
                self._sleep(wait)
                continue
            _log_refusal(what, response, client_request_id=all_headers["client-request-id"])
            raise self._error(what, response, wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, what: str, method: str, url: str, **kwargs) -> requests.Response:
        """One HTTP request, counted and timed (``ops.metrics``) whatever its end."""
        started = time.monotonic()
        status: int | None = None
        throttled = False
        try:
            if isinstance(self._session, TimeoutSession):
                response = self._session.call(method, url, **kwargs)
            else:
                response = self._session.request(method, url, **kwargs)
            status = response.status_code
            throttled = is_throttled(response)
            return response
        except requests.Timeout:
            raise ProviderError(f"Graph {what} timed out.", code="Timeout") from None
        except requests.RequestException as error:
            raise ProviderError(
                f"Graph {what} failed: {type(error).__name__}.", code="ConnectionError"
            ) from None
        finally:
            graph_request_observe(
                status=status, throttled=throttled, seconds=time.monotonic() - started
            )

    @staticmethod
    def _body(response: requests.Response) -> dict | None:
        if response.status_code == 204 or not response.content:
            return None
        try:
            body = response.json()
        except ValueError:
            raise ProviderError(
                f"Graph answered {response.status_code} with a body that is not JSON.",
                status=response.status_code,
                code="InvalidResponse",
            ) from None
        return body if isinstance(body, dict) else {"value": body}

    @staticmethod
    def _error(what: str, response: requests.Response, wait: float | None) -> ProviderError:
        status = response.status_code
        code, message = _error_code_and_message(response)
        text = f"Graph {what} answered {status}" + (f" {code}" if code else "")
        if message:
            text += f": {message}"
        if status in THROTTLE_STATUSES or status >= 500:
            return ProviderError(text, retry_after=wait, status=status, code=code)
        return ProviderError(text, status=status, code=code)
