"""When to try a failed outbox item again.

Exponential backoff with *full jitter*: attempt ``n`` waits a random time in
``[0, min(cap, base * 2^(n-1))]``, which spreads the retries of many items that
failed together (a throttled mailbox, a receiver that was down) instead of sending
them back in a burst. The wait is never shorter than the other side's
``Retry-After``.
"""

from __future__ import annotations

import random

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
