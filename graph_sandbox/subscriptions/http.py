"""The sandbox's outgoing HTTP client: validation requests and notification deliveries.

One ``requests`` session per thread (keep-alive to the app's endpoint), ignoring
proxy and CA settings from the environment, as a service in Microsoft's cloud
would. Redirects are not followed.
"""

from __future__ import annotations

import ipaddress
import threading
from urllib.parse import urlsplit

import requests

from graph_sandbox.graph.errors import GraphError

_local = threading.local()
LOOPBACK_NAMES = ("localhost",)
MAX_URL = 2000


def session() -> requests.Session:
    if getattr(_local, "session", None) is None:
        client = requests.Session()
        client.trust_env = False
        _local.session = client
    return _local.session


def is_loopback(url: str) -> bool:
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return False
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_notification_url(url: object, *, name: str = "NotificationUrl") -> str:
    """An ``https`` URL (Graph's rule), or plain ``http`` on this machine (the sandbox's leniency).

    Real Graph refuses ``http`` outright; the sandbox lets ``make run`` receive
    notifications on ``http://127.0.0.1:8000`` without a certificate.
    """
    if not isinstance(url, str) or not url.strip():
        raise GraphError(400, "InvalidRequest", f"{name} is required.")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        host = None
    if len(url) > MAX_URL or not host or parts.scheme.lower() not in ("http", "https"):
        raise GraphError(400, "InvalidRequest", f"Invalid {name} '{url[:MAX_URL]}'.")
    if parts.scheme.lower() == "http" and not is_loopback(url):
        raise GraphError(400, "InvalidRequest", f"{name} scheme='http' is not supported.")
    return url
