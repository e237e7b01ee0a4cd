"""Counting requests on the Django cache (Redis in production), per client IP.

``rate_limit_exceeded``: a fixed-window limiter (booking POSTs, ``BOOKING_RATE_LIMIT``
per minute; 0 turns it off). ``cache_count`` is the counter under it, also used for
failed log-ins (``accounts.login_throttle``). ``turn_take``: one action per interval
on one thing (a host asking one invitee to reschedule), whoever asks.
The client IP is REMOTE_ADDR, or — behind ``TRUSTED_PROXY_COUNT`` proxies that
append to X-Forwarded-For — the address the outermost trusted proxy saw.
"""

from __future__ import annotations

import math
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

WINDOW_SECONDS = 60


def client_ip(request: HttpRequest) -> str:
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= proxies:
            # Each trusted proxy appended the address it saw; earlier entries are the
            # client's own claims and cannot be trusted.
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def rate_limit_exceeded(*, scope: str, request: HttpRequest, limit: int) -> int | None:
    """Count one hit; return the seconds to wait when over ``limit``, else None."""
    if limit <= 0:
        return None
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    key = f"ratelimit:{scope}:{client_ip(request)}:{window}"
    count = cache_count(key, timeout=WINDOW_SECONDS + 5)
    if count <= limit:
        return None
    return max(1, int((window + 1) * WINDOW_SECONDS - now) + 1)


def cache_count(key: str, *, timeout: int) -> int:
    """Add one to the counter at ``key`` (made, expiring after ``timeout`` seconds, by
    the first hit); returns the new count, 1 for the first hit."""
    count = getattr(cache, "count", None)  # ops.redis_cache.RedisCache: one round trip
    if count is not None:
        return count(key, timeout=timeout)
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # it expired between add and incr
        cache.set(key, 1, timeout=timeout)
        return 1


def turn_take(key: str, *, every: int, now: float) -> int | None:
    """Take the one turn at ``key`` that comes every ``every`` seconds: None when it was
    free (it is now taken, as of ``now``, a Unix time), else the seconds until the next.

    The cache's expiry frees the turn; the stored time frees it as well once ``now`` is
    ``every`` seconds past it, so a caller's clock (and a test's) has the last word.
    """
    if cache.add(key, now, timeout=every):
        return None
    taken = cache.get(key)
    if taken is None or now - float(taken) >= every:  # freed meanwhile
        cache.set(key, now, timeout=every)
        return None
    return max(1, math.ceil(float(taken) + every - now))


def turn_give_back(key: str) -> None:
    """Free the turn at ``key`` again (the action it was taken for did not happen)."""
    cache.delete(key)
