"""How the sandbox writes: one writer at a time, never "database is locked".

The sandbox's store is usually a SQLite file shared by two processes (the TLS
server and the web server's pages) and written by many threads at once. SQLite
allows one writer; the ``graph_sandbox`` alias uses WAL, ``BEGIN IMMEDIATE`` and
a busy timeout, so writers from different processes queue instead of failing.
Within one process, a lock makes threads queue before they even ask SQLite,
which keeps the busy timeout for the rare cross-process collision.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction
from django.db.models import F

from graph_sandbox.models import SandboxState
from graph_sandbox.router import DB

_write_lock = threading.RLock()


@contextmanager
def writing() -> Iterator[None]:
    """A write transaction on the sandbox store, serialised within this process."""
    with _write_lock, transaction.atomic(using=DB):
        yield


def state() -> SandboxState:
    """The sandbox-wide settings row (created on first use)."""
    row = SandboxState.objects.filter(pk=1).first()
    if row is None:
        with writing():
            row, _ = SandboxState.objects.get_or_create(pk=1)
    return row


def next_change_seq() -> int:
    """The next number in the sandbox-wide change sequence. Call inside ``writing()``."""
    state()
    SandboxState.objects.filter(pk=1).update(change_seq=F("change_seq") + 1)
    return SandboxState.objects.values_list("change_seq", flat=True).get(pk=1)
