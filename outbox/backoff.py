"""When to try a failed outbox item again.

Exponential backoff with *full jitter*: attempt ``n`` waits a random time in
``[0, min(cap, base * 2^(n-1))]``, which spreads the retries of many items that
failed together (a throttled mailbox, a receiver that was down) instead of sending
them back in a burst. The wait is never shorter than the other side's
``Retry-After``, which ``retry_after_seconds`` reads (every caller: webhooks, Graph,
Microsoft's token endpoint).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

_random = random.SystemRandom()


def retry_delay(
    *,
    attempt: int,
    base: float,
    cap: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
    ceiling = min(cap, base * 2 ** max(0, min(attempt - 1, 30)))
    wait = (rng or _random).uniform(0, ceiling)
    return max(wait, retry_after or 0.0)


def retry_after_seconds(
    value: str | None, *, limit: float, now: datetime | None = None
) -> float | None:
    """A ``Retry-After`` header in seconds from ``now``, at most ``limit``; None when absent
    or unreadable.

    RFC 9110 allows either form: a number of seconds (digits only) or an HTTP date, whose
    wait is the time until that date (never negative). Both are bounded by ``limit``, so
    a wild value cannot postpone work for years or overflow a datetime.
    """
    value = (value or "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        return min(float(value), limit)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" or obsolete forms: HTTP dates are always GMT
        when = when.replace(tzinfo=UTC)
    wait = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(0.0, wait), limit)
