"""When a calendar provider is tried again: the shared outbox backoff, with calendar settings.

``retry_delay`` is ``outbox.backoff.retry_delay`` (full jitter, never before
``Retry-After``) with ``CALENDAR_RETRY_BASE`` and ``CALENDAR_RETRY_CAP``; pushes and
the busy-time sync use it.
"""

from __future__ import annotations

import random

from django.conf import settings

from outbox import backoff

_random = random.SystemRandom()


def retry_delay(*, attempt: int, retry_after: float | None = None) -> float:
    """Seconds to wait before attempt ``attempt + 1`` of a push or a sync."""
    return backoff.retry_delay(
        attempt=attempt,
        base=settings.CALENDAR_RETRY_BASE,
        cap=settings.CALENDAR_RETRY_CAP,
        retry_after=retry_after,
    )


def busy_mailbox_delay(*, rng: random.Random | None = None) -> float:
    """A short random wait for work that found every slot of its mailbox taken."""
    return (rng or _random).uniform(0.5, 2.0)
