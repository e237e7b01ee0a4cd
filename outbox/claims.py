"""Claiming an outbox item for one attempt, and writing only while the claim is held.

``claim_take`` is one conditional UPDATE: the item must be pending, due (within
``DUE_TOLERANCE``), and not held by a live claim. It sets a lease
(``claimed_until``), a random claim token (``claimed_by``) and counts the attempt.
A worker that dies simply lets its lease run out; another then takes the item over.
Because every later write names the token, a worker whose lease ran out can never
overwrite what the newer attempt records: its write changes no row and raises
``LostClaim``. Works the same on PostgreSQL and SQLite.

Every booking's worker runs several claims and claimed writes, so their SQL is built
once per process and shape (model, fields written) rather than by the ORM each time,
and the claimed row is read with a query compiled once (``ops.compiled_queries``).
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connections, router
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from ops.compiled_queries import query_objects, rows_write
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
    is the model's queryset, with whatever ``select_related`` the work needs (and no
    filter: the claim's own conditions are the ones above).
    """
    if items.query.where or items.query.select_related is True:
        raise ValueError("items: the model's queryset, with named select_related only")
    now = now or timezone.now()
    token = secrets.token_hex(16)
    model = items.model
    adapt = connections[router.db_for_write(model)].ops.adapt_datetimefield_value
    until = now + timedelta(seconds=lease_seconds)
    values = [adapt(until), token, adapt(now), pk, PENDING, adapt(now), adapt(now + DUE_TOLERANCE)]
    if not rows_write(model, _take_sql, values):
        return None
    related = _related_paths(items.query.select_related or {})
    found = query_objects(_claimed, pk, fixed=(model, related), using=router.db_for_read(model))
    if not found:
        raise model.DoesNotExist(f"{model.__name__} {pk} is gone")
    return Claim(item=found[0], token=token)


def _claimed(model: type[Model], related: tuple[str, ...], pk: int) -> QuerySet:
    return model.objects.select_related(*related).filter(pk=pk)


def _related_paths(tree: dict, prefix: str = "") -> tuple[str, ...]:
    """``select_related``'s tree as the paths it was given ({"a": {"b": {}}}: "a__b")."""
    paths: list[str] = []
    for name, below in tree.items():
        paths += _related_paths(below, f"{prefix}{name}__") or [f"{prefix}{name}"]
    return tuple(paths)


@functools.cache
def _take_sql(model: type[Model], alias: str) -> str:
    """The claim: pending, not held by a live claim, due (the values in ``claim_take``'s order)."""
    q = connections[alias].ops.quote_name
    table, pk = q(model._meta.db_table), q(model._meta.pk.column)
    # Only quoted names of our own models go into the text; every value is a parameter.
    until, due = q("claimed_until"), q("next_attempt_at")
    sets = f"{until} = %s, {q('claimed_by')} = %s, {q('attempts')} = {q('attempts')} + 1, "
    sets += f"{q('updated_at')} = %s"
    where = f"{pk} = %s AND {q('state')} = %s AND ({until} IS NULL OR {until} <= %s) "
    where += f"AND ({due} IS NULL OR {due} <= %s)"
    return f"UPDATE {table} SET {sets} WHERE {where}"  # noqa: S608


@functools.cache
def _held_sql(
    model: type[Model], alias: str, names: tuple[str, ...], unchanged: tuple, nulls: tuple
) -> str:
    """Write the fields ``names``, where the item is still held with the token, its fields
    ``unchanged`` still hold their values and its fields ``nulls`` are still null, as the
    ORM's ``filter(name=None)`` reads it (values: the names', pk, token, the unchanged')."""
    q = connections[alias].ops.quote_name
    meta = model._meta
    sets = ", ".join(f"{q(meta.get_field(name).column)} = %s" for name in names)
    where = [f"{q(meta.pk.column)} = %s", f"{q('claimed_by')} = %s"]
    where += [f"{q(meta.get_field(name).column)} = %s" for name in unchanged]
    where += [f"{q(meta.get_field(name).column)} IS NULL" for name in nulls]
    return f"UPDATE {q(meta.db_table)} SET {sets} WHERE {' AND '.join(where)}"  # noqa: S608


@dataclass
class Claim:
    """One item taken for one attempt, and the token every write is conditional on."""

    item: OutboxItem
    token: str

    def _held(self, fields: dict[str, Any], unchanged: dict[str, Any] | None = None) -> bool:
        """Write ``fields`` (and ``updated_at``) while the claim is held and the item's
        fields ``unchanged`` still hold their values (None: still null); whether it was."""
        model = type(self.item)
        connection = connections[router.db_for_write(model)]
        fields = {**fields, "updated_at": timezone.now()}
        unchanged = unchanged or {}
        nulls = tuple(name for name, value in unchanged.items() if value is None)
        unchanged = {name: value for name, value in unchanged.items() if value is not None}
        meta = model._meta
        values = [meta.get_field(n).get_db_prep_save(v, connection) for n, v in fields.items()]
        values += [self.item.pk, self.token]
        values += [meta.get_field(n).get_db_prep_value(v, connection) for n, v in unchanged.items()]
        shape = (tuple(fields), tuple(unchanged), nulls)
        return bool(rows_write(model, _held_sql, values, *shape))

    def save(self, **fields: Any) -> None:
        """Write ``fields`` now (a write-ahead record), only while the claim is held.

        Raises LostClaim when another worker has taken the item over.
        """
        if not self._held(fields):
            raise LostClaim()
        for name, value in fields.items():
            setattr(self.item, name, value)

    def release(self, **fields: Any) -> bool:
        """Let the item go (its state unchanged), writing ``fields``; False if not held."""
        return self._held({"claimed_until": None, "claimed_by": "", **fields})

    def settle(self, *, state: str, unchanged: dict[str, Any] | None = None, **fields: Any) -> bool:
        """End the attempt: write ``state`` and ``fields`` and let the item go.

        Only while the claim is held and the item still matches ``unchanged`` (e.g. the
        ``version`` that was worked on). Otherwise the item changed meanwhile: it is let
        go with ``queued_at`` now, for its caller to run it again, and False returned.
        """
        now = timezone.now()
        if self._held(
            {"state": state, "claimed_until": None, "claimed_by": "", **fields}, unchanged
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
