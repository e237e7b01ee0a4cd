"""A deadline for calls to other services, set by whoever waits on them (a contextvar).

``outbox.dispatch`` runs a booking's calendar push ahead of its confirmation emails
inside a bundle, so the confirmation can carry the meeting's join link; the emails
must not wait long on a slow Microsoft Graph for that. It sets a deadline around the
push, and the HTTP session for Microsoft (``calendars.providers.office365.graph``) cuts
each call's timeouts, and any wait in place on ``Retry-After``, to what is left of it.
A call cut short fails as a timeout does: the push is retried later on its own, with
its full timeouts (its requests are idempotent: Graph's ``transactionId``).
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from contextlib import contextmanager

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "call_deadline", default=None
)


@contextmanager
def deadline_at(moment: float | None) -> Iterator[None]:
    """Calls made inside end by ``moment`` (``time.monotonic()``; None: no deadline)."""
    token = _deadline.set(moment)
    try:
        yield
    finally:
        _deadline.reset(token)


def seconds_left() -> float | None:
    """Seconds until the deadline (0 once past); None when there is none."""
    moment = _deadline.get()
    if moment is None:
        return None
    return max(0.0, moment - time.monotonic())


def timeout_within(timeout: float | tuple[float, float]) -> float | tuple[float, float]:
    """``timeout`` (seconds, or requests' (connect, read)) cut to the deadline's time left
    (at least a tenth of a second, so a call past it fails at once as a timeout)."""
    left = seconds_left()
    if left is None:
        return timeout
    left = max(left, 0.1)
    if isinstance(timeout, tuple):
        return (min(timeout[0], left), min(timeout[1], left))
    return min(timeout, left)
