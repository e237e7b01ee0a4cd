"""How the sandbox writes: one writer at a time, never "database is locked".

The sandbox's store is usually a SQLite file shared by two processes (the TLS
server and the web server's pages) and written by many threads at once. SQLite
allows one writer; the ``graph_sandbox`` alias uses WAL, ``BEGIN IMMEDIATE`` and
a busy timeout, so writers from different processes queue instead of failing.
Within one process, a lock makes threads queue before they even ask SQLite,
which keeps the busy timeout for the rare cross-process collision.
"""

from __future__ import annotations

import contextvars
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections, transaction
from django.db.models import F, QuerySet

from graph_sandbox.models import SandboxState
from graph_sandbox.router import DB
from ops.compiled_queries import query_objects, reads

_write_lock = threading.RLock()


@contextmanager
def writing(*, until_logged: bool = False, log_line: bool = False) -> Iterator[None]:
    """A write transaction on the sandbox store, serialised within this process.

    Within an API request (``request_scope``) a write that asks for it
    (``until_logged``: creating an event) is not committed at the end of its block: the
    transaction stays open (and the lock held) until the request's log line
    (``log_line``) is written in it, and both are committed together, once, before the
    answer leaves. A block that fails is rolled back at once, as any other.
    """
    held = _held.get(None)
    if held:  # the request's transaction is open
        if log_line:
            with _commit_with(held.pop()):
                yield
        else:
            with transaction.atomic(using=DB):
                yield
        return
    if not (until_logged and held is not None):
        with _write_lock, transaction.atomic(using=DB):
            yield
        return
    _write_lock.acquire()
    block = transaction.atomic(using=DB)
    block.__enter__()
    try:
        yield
    except BaseException:
        _end(block, sys.exc_info())
        raise
    held.append(block)


@contextmanager
def _commit_with(block) -> Iterator[None]:
    try:
        yield
    except BaseException:
        _end(block, sys.exc_info())
        raise
    _end(block, (None, None, None))


def _end(block, exc_info) -> None:
    """Leave a held write transaction (rolled back when ``exc_info`` names an error,
    else committed) and give the write lock back, whatever leaving it raised."""
    try:
        block.__exit__(*exc_info)
    finally:
        _write_lock.release()


# Within one API request (``request_scope``): the settings row as first read by it (the
# clock offset, the concurrency limit), in a one-item list. They change only between
# requests (``control``, the pages).
_in_request: contextvars.ContextVar[list] = contextvars.ContextVar("graph_sandbox_request")
# Within one API request: the transaction a write left open for the log line (``writing``).
_held: contextvars.ContextVar[list] = contextvars.ContextVar("graph_sandbox_held")


@contextmanager
def request_scope() -> Iterator[None]:
    """One API request: ``request_settings`` reads the settings row once for all of it."""
    token, held = _in_request.set([]), _held.set([])
    try:
        yield
    finally:
        try:
            left = _held.get()
            if left:  # no log line was written: what was written is committed now
                with _commit_with(left.pop()):
                    pass
        finally:
            _held.reset(held)
            _in_request.reset(token)


def request_settings() -> SandboxState:
    """The settings row as the current request first read it (the clock offset, the
    concurrency limit); outside a request, as it is now. Not for counters that move
    during a request (``change_seq``): read those with ``state``."""
    held = _in_request.get(None)
    if held is None:
        return state()
    if not held:
        held.append(state())
    return held[0]


def state() -> SandboxState:
    """The sandbox-wide settings row (created on first use)."""
    found = query_objects(_state_row)  # every API request reads it: compiled once
    if found:
        return found[0]
    with writing():
        row, _ = SandboxState.objects.get_or_create(pk=1)
    return row


@reads(SandboxState)
def _state_row() -> QuerySet[SandboxState]:
    return SandboxState.objects.filter(pk=1).order_by("pk")[:1]


_NEXT_CHANGE_SEQ = (
    'UPDATE "graph_sandbox_sandboxstate" SET "change_seq" = "change_seq" + 1 '
    'WHERE "id" = 1 RETURNING "change_seq"'
)


def next_change_seq() -> int:
    """The next number in the sandbox-wide change sequence. Call inside ``writing()``."""
    connection = connections[DB]
    if connection.vendor in ("sqlite", "postgresql") and (
        connection.features.can_return_columns_from_insert  # SQLite 3.35+: RETURNING
    ):
        # One statement (every event write takes a number) where the store can say it.
        with connection.cursor() as cursor:
            cursor.execute(_NEXT_CHANGE_SEQ)
            row = cursor.fetchone()
        if row is not None:
            return row[0]
    state()  # made on first use
    SandboxState.objects.filter(pk=1).update(change_seq=F("change_seq") + 1)
    return SandboxState.objects.values_list("change_seq", flat=True).get(pk=1)
