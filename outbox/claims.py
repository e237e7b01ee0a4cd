"""Claiming an outbox item for one attempt, and writing only while the claim is held.

``claim_take`` is one conditional UPDATE: the item must be pending, due (within
``DUE_TOLERANCE``), and not held by a live claim. It sets a lease
(``claimed_until``), a random claim token (``claimed_by``) and counts the attempt.
A worker that dies simply lets its lease run out; another then takes the item over.
Because every later write names the token, a worker whose lease ran out can never
overwrite what the newer attempt records: its write changes no row and raises
``LostClaim``. Works the same on PostgreSQL and SQLite.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from outbox.models import PENDING, OutboxItem

# A retry sent with a countdown may arrive a little early (clocks of broker and workers).
DUE_TOLERANCE = timedelta(seconds=2)


class LostClaim(Exception):
    """Another worker took the item over (our lease ran out): stop without recording."""


def is_due(*, now: datetime) -> Q:
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now + DUE_TOLERANCE)


def is_unclaimed(*, now: datetime) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)


def claim_take(
    *, items: QuerySet, pk: int, lease_seconds: float, now: datetime | None = None
) -> Claim | None:
    """Take item ``pk`` of ``items`` for this attempt; the claim, or None if it is not ours.

    None when the item is settled, not due, or held by another live claim. ``items``
    is the model's queryset, with whatever ``select_related`` the work needs.
    """
    now = now or timezone.now()
    token = secrets.token_hex(16)
    taken = (
        items.model.objects.filter(pk=pk, state=PENDING)
        .filter(is_unclaimed(now=now))
        .filter(is_due(now=now))
        .update(
            claimed_until=now + timedelta(seconds=lease_seconds),
            claimed_by=token,
            attempts=F("attempts") + 1,
            updated_at=now,
        )
    )
    if not taken:
        return None
    return Claim(item=items.get(pk=pk), token=token)


@dataclass
class Claim:
    """One item taken for one attempt, and the token every write is conditional on."""

    item: OutboxItem
    token: str

    def _held(self, **unchanged: Any) -> QuerySet:
        return type(self.item).objects.filter(pk=self.item.pk, claimed_by=self.token, **unchanged)

    def save(self, **fields: Any) -> None:
        """Write ``fields`` now (a write-ahead record), only while the claim is held.

        Raises LostClaim when another worker has taken the item over.
        """
        if not self._held().update(**fields, updated_at=timezone.now()):
            raise LostClaim()
        for name, value in fields.items():
            setattr(self.item, name, value)

    def release(self, **fields: Any) -> bool:
        """Let the item go (its state unchanged), writing ``fields``; False if not held."""
        return bool(
            self._held().update(
                claimed_until=None, claimed_by="", updated_at=timezone.now(), **fields
            )
        )

    def settle(self, *, state: str, unchanged: dict[str, Any] | None = None, **fields: Any) -> bool:
        """End the attempt: write ``state`` and ``fields`` and let the item go.

        Only while the claim is held and the item still matches ``unchanged`` (e.g. the
        ``version`` that was worked on). Otherwise the item changed meanwhile: it is let
        go with ``queued_at`` now, for its caller to run it again, and False returned.
        """
        now = timezone.now()
        if self._held(**(unchanged or {})).update(
            state=state, claimed_until=None, claimed_by="", updated_at=now, **fields
        ):
            for name, value in {"state": state, **fields}.items():
                setattr(self.item, name, value)
            return True
        self.release(queued_at=now)
        return False

    def retry_later(
        self, *, delay: float, error: str, unchanged: dict[str, Any] | None = None
    ) -> bool:
        """Stay pending, due again in ``delay`` seconds, with ``error`` recorded (see settle)."""
        due = timezone.now() + timedelta(seconds=delay)
        return self.settle(
            state=PENDING,
            unchanged=unchanged,
            next_attempt_at=due,
            queued_at=due,
            last_error=error[:500],
        )
