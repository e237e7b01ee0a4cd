"""Posting to a URL a user typed, safely (server-side request forgery guard).

``target_check`` resolves the URL's host name and refuses it unless every address
it resolves to is public: loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7),
link-local (169.254/16 with the cloud metadata address, fe80::/10), carrier-grade
NAT, multicast, reserved, unspecified and site-local (fec0::/10) addresses are refused,
and so is every IPv6 form that leads to such an IPv4 address (IPv4-mapped and
-translated, NAT64's 64:ff9b::/96, 6to4's 2002::/16; a network's own NAT64 prefix
64:ff9b:1::/48 always). Loopback is allowed only with ``WEBHOOK_ALLOW_LOOPBACK``
(local development); plain ``http`` only to it. Checked when an endpoint is saved
and again before every delivery.

``post`` then connects to the very address that was checked (a second DNS answer
cannot point it elsewhere), sends TLS's SNI and the Host header for the name, never
follows a redirect, sends no cookies (there is no cookie jar), reads at most
``max_bytes`` of the answer, and ends the attempt ``timeout`` seconds after it began.
It never raises for what the network or the receiver did: that is in the returned
``Answer``.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
import urllib3
import urllib3.connection
from django.conf import settings
from django.utils.translation import gettext as _

from outbox.backoff import retry_after_seconds

DEFAULT_PORTS = {"http": 80, "https": 443}
# Longer waits than this are read as this (a week: past any retry window).
RETRY_AFTER_LIMIT = 7 * 24 * 3600.0
# IPv6 prefixes whose last 32 bits are the IPv4 address the packets go to (RFC 6052, 2765).
NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: a network's own translators


class UnsafeTarget(Exception):
    """The URL may not be posted to; ``message`` says why, in words a user can act on."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # the name (or literal address) in the URL, without brackets
    port: int
    path: str  # path and query
    address: str  # the checked IP address to connect to

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == DEFAULT_PORTS[self.scheme] else f"{name}:{self.port}"


@dataclass(frozen=True)
class Answer:
    """What one POST got: a status (None when no answer came) and how long it took."""

    status: int | None
    elapsed_ms: int
    excerpt: str = ""
    retry_after: float | None = None
    error: str = ""  # why no answer came (timed out, refused, TLS failed)


def _is_allowed(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in NAT64_LOCAL:
            return False  # an operator's own translation: where it leads is unknowable here
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return _is_allowed(embedded)
        # fec0::/10; ::/96 ("IPv4-compatible") and the rest of the unassigned ::/8 (but
        # ::1, loopback, which Python counts in ::/8 too).
        if ip.is_site_local or (ip.is_reserved and not ip.is_loopback):
            return False
    if ip.is_loopback:
        return settings.WEBHOOK_ALLOW_LOOPBACK
    return ip.is_global and not ip.is_multicast


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a connection to ``ip`` reaches in the end, for the IPv6 forms that
    carry one: IPv4-mapped and -translated (``::ffff:0:0/96``, ``::ffff:0:0:0/96``), NAT64's
    well-known prefix (a DNS64 resolver answers ``64:ff9b::10.0.0.7`` for a name whose
    address is 10.0.0.7) and 6to4 (``2002::/16``)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in NAT64 or ip in IPV4_TRANSLATED:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def target_check(url: str) -> Target:
    """The URL's target, resolved and checked; raises UnsafeTarget when it may not be used."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise UnsafeTarget(_("This is not a valid URL."))
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise UnsafeTarget(_("Use an https:// URL."))
    if parts.username or parts.password:
        raise UnsafeTarget(_("Leave user names and passwords out of the URL."))
    host = (parts.hostname or "").lower()
    if not host:
        raise UnsafeTarget(_("The URL needs a host name."))
    port = port or DEFAULT_PORTS[scheme]
    addresses = _resolve(host, port)
    for address in addresses:
        if not _is_allowed(address):
            raise UnsafeTarget(
                _(
                    "This URL leads to a private, local or reserved network address; "
                    "webhooks go only to public addresses."
                )
            )
    if scheme == "http" and not all(a.is_loopback for a in addresses):
        raise UnsafeTarget(_("Use an https:// URL."))
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme=scheme, host=host, port=port, path=path, address=str(addresses[0]))


def _resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise UnsafeTarget(_("The host name of this URL could not be found."))
    found = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if address not in found:
            found.append(address)
    if not found:
        raise UnsafeTarget(_("The host name of this URL could not be found."))
    return found


def post(
    *, target: Target, headers: dict[str, str], body: bytes, timeout: float, max_bytes: int
) -> Answer:
    """POST ``body`` to ``target``'s checked address; never follows redirects; never raises.

    ``timeout`` bounds the whole attempt, not each read: a receiver that sends its answer
    a byte at a time is cut off when the time is up (a socket timeout alone restarts with
    every byte, and held a worker for minutes)."""
    connection = _connection(target, timeout)
    cut = threading.Event()
    watchdog = threading.Timer(timeout, _cut_off, args=(connection, cut))
    watchdog.daemon = True
    started = time.monotonic()
    watchdog.start()
    try:
        connection.request(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": target.host_header},
            preload_content=False,
        )
        response = connection.getresponse()
        raw = response.read(max_bytes)
    except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as error:
        reason = "timed out" if cut.is_set() else _describe(error)
        return Answer(status=None, elapsed_ms=_ms_since(started), error=reason)
    finally:
        watchdog.cancel()
        connection.close()
    return Answer(
        status=response.status,
        elapsed_ms=_ms_since(started),
        # PostgreSQL text cannot hold NUL, which a receiver may well send.
        excerpt=raw[:500].decode("utf-8", errors="replace").replace("\x00", ""),
        retry_after=retry_after_seconds(
            response.headers.get("Retry-After"), limit=RETRY_AFTER_LIMIT
        ),
    )


def _connection(target: Target, timeout: float) -> urllib3.connection.HTTPConnection:
    """One connection to the checked address (TLS names the host), no pool, no retries."""
    if target.scheme == "https":
        return urllib3.connection.HTTPSConnection(
            target.address,
            port=target.port,
            timeout=timeout,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
        )
    return urllib3.connection.HTTPConnection(target.address, port=target.port, timeout=timeout)


def _cut_off(connection: urllib3.connection.HTTPConnection, cut: threading.Event) -> None:
    """End a connection whose time is up: a read blocked on it returns at once."""
    cut.set()
    sock = connection.sock
    if sock is not None:
        # The plain socket's shutdown, also under TLS: SSLSocket.shutdown drops its TLS
        # state first, which the reading thread is still using.
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _describe(error: Exception) -> str:
    if isinstance(error, (urllib3.exceptions.TimeoutError, TimeoutError)):
        return "timed out"
    if isinstance(error, (urllib3.exceptions.SSLError, ssl.SSLError)):
        return "TLS failed"
    if isinstance(error, (urllib3.exceptions.NewConnectionError, ConnectionRefusedError)):
        return "could not connect"
    return type(error).__name__


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
