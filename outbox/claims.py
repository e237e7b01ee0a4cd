"""Claiming an outbox item for one attempt, and writing only while the claim is held.

``claim_take`` is one conditional UPDATE (on PostgreSQL with the read of the item taken
and its related rows in the same statement: ``UPDATE … RETURNING``): the item must be
pending, due (within ``DUE_TOLERANCE``), and not held by a live claim. It sets a lease
(``claimed_until``), a random claim token (``claimed_by``) and counts the attempt.
A worker that dies simply lets its lease run out; another then takes the item over.
Because every later write names the token, a worker whose lease ran out can never
overwrite what the newer attempt records: its write changes no row and raises
``LostClaim``. Works the same on PostgreSQL and SQLite. ``claims_take`` takes several
items at once (those of one account, say), in one statement, each on the same terms.

Every booking's worker runs several claims and claimed writes, so their UPDATEs are
compiled by the ORM once per process and shape (model, fields written, null or not)
rather than each time, and the claimed row is read with a query compiled once
(``ops.compiled_queries.update_and_read``). Their conditions are the ORM filters below, stated once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import router
from django.db.models import F, Model, Q, QuerySet
from django.utils import timezone

from ops.compiled_queries import update_and_read, update_rows
from outbox.models import PENDING, OutboxItem

# A retry sent with a countdown may arrive a little early (clocks of broker and workers).
DUE_TOLERANCE = timedelta(seconds=2)


class LostClaim(Exception):
    """Another worker took the item over (our lease ran out): stop without recording."""


def is_due(*, by: datetime) -> Q:
    """No attempt scheduled, or one at ``by`` or before (a claim looks ``DUE_TOLERANCE``
    ahead of now)."""
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=by)


def is_unclaimed(*, now: datetime) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)


def claim_take(
    *, items: QuerySet, pk: int, lease_seconds: float, now: datetime | None = None
) -> Claim | None:
    """Take item ``pk`` of ``items`` for this attempt; the claim, or None if it is not ours.

    None when the item is settled, not due, or held by another live claim. ``items``
    is the model's queryset, with whatever ``select_related`` the work needs (and no
    filter: the claim's own conditions are the ones above).
    """
    if items.query.where or items.query.select_related is True:
        raise ValueError("items: the model's queryset, with named select_related only")
    now = now or timezone.now()
    token = secrets.token_hex(16)
    model = items.model
    until = now + timedelta(seconds=lease_seconds)
    due_by = now + DUE_TOLERANCE
    using = router.db_for_write(model)
    related = _related_paths(items.query.select_related or {})
    found = update_and_read(
        _take,
        *(pk, token, until, now, due_by),
        read=_claimed,
        read_values=(pk,),
        fixed=(model,),
        read_fixed=(model, related),
        using=using,
    )
    if found is None:
        return None
    if not found:
        raise model.DoesNotExist(f"{model.__name__} {pk} is gone")
    return Claim(item=found[0], token=token)


def claims_take(
    *,
    items: QuerySet,
    pks: list[int],
    lease_seconds: float,
    within: tuple[str, int],
    now: datetime | None = None,
) -> list[Claim]:
    """Take those of items ``pks`` that are claimable (as ``claim_take`` says) and whose
    field ``within[0]`` (a lookup, such as a related row's key) is ``within[1]``, in one
    statement; their claims, in the order of ``pks``, all under one token (every write
    still names its item). Items not taken are simply left out."""
    if items.query.where or items.query.select_related is True:
        raise ValueError("items: the model's queryset, with named select_related only")
    if not pks:
        return []
    now = now or timezone.now()
    token = secrets.token_hex(16)
    model = items.model
    until = now + timedelta(seconds=lease_seconds)
    related = _related_paths(items.query.select_related or {})
    found = update_and_read(
        _take_many,
        *(list(pks), within[1], token, until, now, now + DUE_TOLERANCE),
        read=_claimed_by,
        read_values=(token,),
        fixed=(model, within[0]),
        read_fixed=(model, related),
        using=router.db_for_write(model),
    )
    by_pk = {item.pk: item for item in found or ()}
    return [Claim(item=by_pk[pk], token=token) for pk in dict.fromkeys(pks) if pk in by_pk]


def _take_many(
    model: type[Model],
    lookup: str,
    pks: list[int],
    value: int,
    token: str,
    until: datetime,
    now: datetime,
    due_by: datetime,
) -> tuple[QuerySet, dict[str, Any]]:
    """``_take`` for each of items ``pks`` whose ``lookup`` is ``value``."""
    items = model.objects.filter(pk__in=pks, state=PENDING, **{lookup: value})
    items = items.filter(is_unclaimed(now=now)).filter(is_due(by=due_by))
    return items, _claim_fields(token=token, until=until, now=now)


def _claim_fields(*, token: str, until: datetime, now: datetime) -> dict[str, Any]:
    """What a claim writes on each item it takes: held by ``token`` until ``until``, one
    more attempt."""
    return {
        "claimed_until": until,
        "claimed_by": token,
        "attempts": F("attempts") + 1,
        "updated_at": now,
    }


def _claimed_by(model: type[Model], related: tuple[str, ...], token: str) -> QuerySet:
    return model.objects.select_related(*related).filter(claimed_by=token)


def _claimed(model: type[Model], related: tuple[str, ...], pk: int) -> QuerySet:
    return model.objects.select_related(*related).filter(pk=pk)


def _related_paths(tree: dict, prefix: str = "") -> tuple[str, ...]:
    """``select_related``'s tree as the paths it was given ({"a": {"b": {}}}: "a__b")."""
    paths: list[str] = []
    for name, below in tree.items():
        paths += _related_paths(below, f"{prefix}{name}__") or [f"{prefix}{name}"]
    return tuple(paths)


def _take(
    model: type[Model], pk: int, token: str, until: datetime, now: datetime, due_by: datetime
) -> tuple[QuerySet, dict[str, Any]]:
    """The claim: item ``pk``, pending, due, not held by a live claim, becomes ours."""
    items = model.objects.filter(pk=pk, state=PENDING)
    items = items.filter(is_unclaimed(now=now)).filter(is_due(by=due_by))
    return items, _claim_fields(token=token, until=until, now=now)


def _held(
    model: type[Model],
    names: tuple[str, ...],
    unchanged: tuple[str, ...],
    pk: int,
    token: str,
    *values: Any,
) -> tuple[QuerySet, dict[str, Any]]:
    """Write the fields ``names`` (the first values) where item ``pk`` is still held with
    ``token`` and its fields ``unchanged`` still hold the other values (None: still null,
    as ``filter(name=None)`` reads it)."""
    assigned = dict(zip(names, values[: len(names)], strict=True))
    kept = dict(zip(unchanged, values[len(names) :], strict=True))
    return model.objects.filter(pk=pk, claimed_by=token, **kept), assigned


@dataclass
class Claim:
    """One item taken for one attempt, and the token every write is conditional on."""

    item: OutboxItem
    token: str
    # A write found the item held by another claim (its lease had run out): nothing more
    # this attempt writes can land.
    lost: bool = False

    def _held(self, fields: dict[str, Any], unchanged: dict[str, Any] | None = None) -> bool:
        """Write ``fields`` (and ``updated_at``) while the claim is held and the item's
        fields ``unchanged`` still hold their values (None: still null); whether it was."""
        model = type(self.item)
        fields = {**fields, "updated_at": timezone.now()}
        unchanged = unchanged or {}
        shape = (model, tuple(fields), tuple(unchanged))
        values = (self.item.pk, self.token, *fields.values(), *unchanged.values())
        using = router.db_for_write(model)
        return bool(update_rows(_held, *values, fixed=shape, using=using))

    def save(self, **fields: Any) -> None:
        """Write ``fields`` now (a write-ahead record), only while the claim is held.

        Raises LostClaim when another worker has taken the item over.
        """
        if not self._held(fields):
            self.lost = True
            raise LostClaim()
        for name, value in fields.items():
            setattr(self.item, name, value)

    def release(self, **fields: Any) -> bool:
        """Let the item go (its state unchanged), writing ``fields``; False if not held."""
        released = self._held({"claimed_until": None, "claimed_by": "", **fields})
        self.lost = self.lost or not released
        return released

    def settle(
        self,
        *,
        state: str,
        unchanged: dict[str, Any] | None = None,
        also: dict[str, Any] | None = None,
        **fields: Any,
    ) -> bool:
        """End the attempt: write ``state`` and ``fields`` and let the item go.

        Only while the claim is held and the item still matches ``unchanged`` (e.g. the
        ``version`` that was worked on). Otherwise the item changed meanwhile: it is let
        go with ``queued_at`` now, for its caller to run it again, and False returned.
        ``also``: fields written either way, in the same statement (what the attempt
        learned that holds whatever changed, such as the id of an event it made);
        ``lost`` then says whether they could not be written.
        """
        now = timezone.now()
        also = also or {}
        if self._held(
            {"state": state, "claimed_until": None, "claimed_by": "", **also, **fields}, unchanged
        ):
            for name, value in {"state": state, **also, **fields}.items():
                setattr(self.item, name, value)
            return True
        if self.release(queued_at=now, **also):
            for name, value in also.items():
                setattr(self.item, name, value)
        return False

    def retry_later(
        self,
        *,
        delay: float,
        error: str,
        unchanged: dict[str, Any] | None = None,
        also: dict[str, Any] | None = None,
    ) -> bool:
        """Stay pending, due again in ``delay`` seconds, with ``error`` recorded (see settle)."""
        due = timezone.now() + timedelta(seconds=delay)
        return self.settle(
            state=PENDING,
            unchanged=unchanged,
            also=also,
            next_attempt_at=due,
            queued_at=due,
            last_error=error[:500],
        )
