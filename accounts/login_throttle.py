"""Failed log-ins are counted, and too many of them pause logging in for a while.

Two counters on the Django cache (Redis in production, so every web process sees
the same numbers), each in a window that opens at its first failure:

- per account (the email, hashed so no address sits in the cache's keys):
  ``LOGIN_FAILURE_LIMIT`` failures stop password guessing against one host from
  any number of addresses;
- per client address: ``LOGIN_FAILURE_LIMIT_PER_IP`` failures stop one address
  trying many accounts.

While a counter is full every attempt is refused, the right password included,
until its window (``LOGIN_FAILURE_WINDOW`` seconds) closes; resetting the
password by email still works. A successful log-in clears the account's counter.

Time is read from ``clock`` (``time.time`` unless a test moves it): a window is over
when the clock says so, whatever the cache's own expiry still keeps.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from ops.ratelimit import cache_count, client_ip

# Seconds since the epoch. Tests replace it to move time instead of sleeping.
clock: Callable[[], float] = time.time


def _counters(request: HttpRequest | None, email: str) -> list[tuple[str, int]]:
    account = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    counters = [(f"login-failures:account:{account}", settings.LOGIN_FAILURE_LIMIT)]
    if request is not None:
        counters.append(
            (f"login-failures:ip:{client_ip(request)}", settings.LOGIN_FAILURE_LIMIT_PER_IP)
        )
    return [(key, limit) for key, limit in counters if limit > 0]


def login_wait_seconds(request: HttpRequest | None, email: str) -> int:
    """Seconds until ``email`` may try again from this client; 0 when it may now."""
    wait = 0.0
    now = clock()
    for key, limit in _counters(request, email):
        if (cache.get(key) or 0) >= limit:
            opened = cache.get(f"{key}:opened") or now
            wait = max(wait, opened + settings.LOGIN_FAILURE_WINDOW - now)
    return math.ceil(wait) if wait > 0 else 0


def _window_closed(key: str, now: float) -> bool:
    opened = cache.get(f"{key}:opened")
    return opened is not None and opened + settings.LOGIN_FAILURE_WINDOW <= now


def login_failed(request: HttpRequest | None, email: str) -> None:
    """Count one failed attempt against the account and the client address."""
    window = settings.LOGIN_FAILURE_WINDOW
    now = clock()
    for key, _ in _counters(request, email):
        if _window_closed(key, now):
            cache.delete_many([key, f"{key}:opened"])  # a new window opens with this failure
        if cache_count(key, timeout=window) == 1:
            cache.set(f"{key}:opened", now, timeout=window)


def login_succeeded(email: str) -> None:
    """The account's owner got in: earlier failures against it no longer count."""
    for key, _ in _counters(None, email):
        cache.delete_many([key, f"{key}:opened"])
