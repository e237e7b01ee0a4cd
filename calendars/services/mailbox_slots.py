"""A provider's limit of concurrent calls per account ("mailbox"), held across every worker.

Some providers refuse more than a few calls at once to one account (Office 365:
``CalendarProvider.concurrent_calls_per_account`` is 4, Outlook's limit per app and
mailbox). Each unit of work that talks to an account (one push, one sync) first
takes one of its slots (``connection_call_slot``: the provider's limit, or
``CALENDAR_MAILBOX_CONCURRENCY`` when that is lower) and makes its calls one after
another, so the account never sees more calls at once than there are slots.

A slot is a row of ``MailboxSlot`` taken with a conditional UPDATE (free or
expired → ours), so it works on PostgreSQL and SQLite alike and needs no Redis. On
PostgreSQL one UPDATE takes whichever slot is free (its row locked with ``SKIP
LOCKED``, so workers taking slots at the same moment pass each other by); on SQLite,
whose writes take turns anyway, the slots are tried one by one.
A slot whose holder was killed frees itself when its lease passes; tasks are
stopped by their hard time limit before that (see ``calendars.tasks``). A slot
that could not be given back because the database went away is given back at the
process's next push or sync (``leases_owed``).
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from calendars.models import CalendarConnection, MailboxSlot
from calendars.providers import get_provider
from calendars.services.leases_owed import lease_give_back
from ops.compiled_queries import update_rows, writes


def _free(now: datetime) -> Q:
    return Q(leased_until__isnull=True) | Q(leased_until__lte=now)


def mailbox_slot_take(
    *, mailbox: str, limit: int | None = None, now: datetime | None = None
) -> str | None:
    """Take one of ``mailbox``'s ``limit`` slots (by default ``CALENDAR_MAILBOX_CONCURRENCY``);
    returns the holder token, or None when all are busy."""
    now = now or timezone.now()
    limit = limit or settings.CALENDAR_MAILBOX_CONCURRENCY
    holder = secrets.token_hex(16)
    until = now + timedelta(seconds=settings.CALENDAR_TASK_LEASE)
    if _take_one(mailbox=mailbox, limit=limit, holder=holder, until=until, now=now):
        return holder
    # None free: perhaps the rows are not all there yet (the mailbox's first calls, or a
    # lower limit before; another worker may be making them right now, so no count is
    # trusted): make them (what exists stays) and look once more.
    MailboxSlot.objects.bulk_create(
        [MailboxSlot(mailbox=mailbox, slot=number) for number in range(limit)],
        ignore_conflicts=True,
    )
    if _take_one(mailbox=mailbox, limit=limit, holder=holder, until=until, now=now):
        return holder
    return None


def _take_one(*, mailbox: str, limit: int, holder: str, until: datetime, now: datetime) -> bool:
    alias = router.db_for_write(MailboxSlot)
    connection = connections[alias]
    if connection.vendor == "postgresql":
        # Any free slot, in one statement. A slot another worker is taking or giving
        # back right now is locked and passed by: it counts as busy, as it would have a
        # moment later (or earlier). The condition is ``_free``'s, checked again on the
        # row as it is when locked.
        params = (holder, until, mailbox, limit, now)
        with transaction.mark_for_rollback_on_error(using=alias), connection.cursor() as cursor:
            cursor.execute(_take_any_sql(alias), params)
            return cursor.rowcount == 1
    # The first free slot (each UPDATE takes one or none).
    return any(update_rows(_take, mailbox, number, holder, until, now) for number in range(limit))


@functools.cache
def _take_any_sql(alias: str) -> str:
    """PostgreSQL's UPDATE of one free slot of a mailbox: (holder, until, mailbox, limit, now)."""
    meta = MailboxSlot._meta
    quote = connections[alias].ops.quote_name
    table = quote(meta.db_table)
    pk, mailbox, slot, holder, until = (
        quote(meta.get_field(name).column)
        for name in ("id", "mailbox", "slot", "holder", "leased_until")
    )
    # Names from the model, quoted; every value a parameter.
    return (
        f"UPDATE {table} SET {holder} = %s, {until} = %s WHERE {pk} = ("  # noqa: S608
        f"SELECT {pk} FROM {table} WHERE {mailbox} = %s AND {slot} < %s"
        f" AND ({until} IS NULL OR {until} <= %s)"
        f" ORDER BY {slot} LIMIT 1 FOR UPDATE SKIP LOCKED)"
    )


def mailbox_slot_release(*, mailbox: str, holder: str) -> None:
    """Give the slot back (only the holder's own; a lease taken over since is left alone)."""
    update_rows(_release, mailbox, holder)


# Every push and sync takes and gives back a slot: their UPDATEs are compiled once per
# process (``ops.compiled_queries``).
@writes(MailboxSlot)
def _take(
    mailbox: str, number: int, holder: str, until: datetime, now: datetime
) -> tuple[QuerySet, dict]:
    """Slot ``number`` of ``mailbox``, if free at ``now``, to ``holder`` until ``until``."""
    slot = MailboxSlot.objects.filter(mailbox=mailbox, slot=number).filter(_free(now))
    return slot, {"holder": holder, "leased_until": until}


@writes(MailboxSlot)
def _release(mailbox: str, holder: str) -> tuple[QuerySet, dict]:
    slot = MailboxSlot.objects.filter(mailbox=mailbox, holder=holder)
    return slot, {"holder": "", "leased_until": None}


def mailbox_slots_busy(*, mailbox: str, now: datetime | None = None) -> int:
    """How many of the mailbox's slots are held right now."""
    now = now or timezone.now()
    return MailboxSlot.objects.filter(mailbox=mailbox).exclude(_free(now)).count()


class MailboxBusy(Exception):
    """Every slot of the mailbox is held: try again in a moment (not a failed attempt)."""


@contextmanager
def mailbox_slot(*, mailbox: str, limit: int | None = None) -> Iterator[str]:
    """Hold one of ``mailbox``'s slots for the block; raises MailboxBusy when none is free."""
    holder = mailbox_slot_take(mailbox=mailbox, limit=limit)
    if holder is None:
        raise MailboxBusy(mailbox)
    try:
        yield holder
    finally:
        lease_give_back(
            what=f"mailbox slot {mailbox}#{holder[:8]}",
            release=partial(mailbox_slot_release, mailbox=mailbox, holder=holder),
        )


@contextmanager
def connection_call_slot(*, connection: CalendarConnection) -> Iterator[str]:
    """Hold a call slot of the connection's account for the block, as its provider asks.

    Without a provider limit there is nothing to hold; raises MailboxBusy when every
    slot is taken.
    """
    provider_limit = get_provider(connection.provider).concurrent_calls_per_account
    if provider_limit is None:
        yield ""
        return
    limit = min(provider_limit, settings.CALENDAR_MAILBOX_CONCURRENCY)
    with mailbox_slot(mailbox=connection.mailbox_key, limit=limit) as holder:
        yield holder
