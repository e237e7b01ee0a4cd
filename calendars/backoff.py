"""When to try a failed call to a calendar provider again.

Exponential backoff with *full jitter*: attempt ``n`` waits a random time in
``[0, min(cap, base * 2^(n-1))]``, which spreads retries of many rows that failed
together (a throttled mailbox) instead of sending them back in a burst. The
wait is never shorter than the provider's ``Retry-After``.
"""

from __future__ import annotations

import random

from django.conf import settings

_random = random.SystemRandom()


def retry_delay(
    *,
    attempt: int,
    retry_after: float | None = None,
    base: float | None = None,
    cap: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
    base = settings.CALENDAR_RETRY_BASE if base is None else base
    cap = settings.CALENDAR_RETRY_CAP if cap is None else cap
    ceiling = min(cap, base * 2 ** max(0, min(attempt - 1, 30)))
    wait = (rng or _random).uniform(0, ceiling)
    return max(wait, retry_after or 0.0)


def busy_mailbox_delay(*, rng: random.Random | None = None) -> float:
    """A short random wait for work that found every slot of its mailbox taken."""
    return (rng or _random).uniform(0.5, 2.0)
