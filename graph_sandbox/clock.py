"""The sandbox clock: real time plus an offset that tests move.

Everything Microsoft judges by time (token lifetimes, refresh-token expiry,
event timestamps) reads this clock, so a test can jump 91 days ahead and see a
refresh token refused without waiting.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from graph_sandbox import store
from graph_sandbox.models import SandboxState


def sandbox_now() -> datetime:
    """The current time as the sandbox sees it (aware, UTC)."""
    return timezone.now() + timedelta(seconds=store.request_settings().clock_offset_seconds)


def clock_offset() -> timedelta:
    return timedelta(seconds=store.request_settings().clock_offset_seconds)


def clock_set_offset(*, offset: timedelta) -> None:
    """Put the sandbox clock ``offset`` ahead of (or behind) real time."""
    store.state()
    with store.writing():
        SandboxState.objects.filter(pk=1).update(clock_offset_seconds=offset.total_seconds())


def clock_advance(*, by: timedelta) -> datetime:
    """Move the sandbox clock forward by ``by``; returns the new sandbox time."""
    clock_set_offset(offset=clock_offset() + by)
    return sandbox_now()
