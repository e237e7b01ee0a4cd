"""Leases a worker could not give back because the database went away.

A push holds a mailbox slot and a claim on its row, a sync a slot and a lease on its
connection; each gives them back when done. When the database connection is lost
at that moment (PostgreSQL restarted, a network blip), those writes fail too, and
the slot and the row would stay held until ``CALENDAR_TASK_LEASE`` runs out (120 s
by default): one of the mailbox's 4 slots lost, the row untouchable. Instead this
process remembers what it owes and gives it back at its next database work (the
next push or sync it runs, on a new connection). Should the process die first, the
leases still expire as before.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.db import Error as DbError  # DatabaseError or InterfaceError (a closed connection)

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_owed: dict[str, Callable[[], object]] = {}


def lease_give_back(*, what: str, release: Callable[[], object]) -> None:
    """Run ``release`` (a conditional UPDATE that frees a lease); if the database fails,
    keep it to run at this process's next database work. Never raises a database error."""
    try:
        release()
    except DbError as error:
        logger.warning(
            "Could not give back %s (%s); giving it back at the next connection",
            what,
            type(error).__name__,
        )
        with _lock:
            _owed[what] = release


def leases_give_back_owed() -> int:
    """Give back what earlier work of this process could not; returns how many went back."""
    with _lock:
        owed = list(_owed.items())
    given = 0
    for what, release in owed:
        try:
            release()
        except DbError:
            continue  # still away: the next time, or the lease expires
        with _lock:
            _owed.pop(what, None)
        given += 1
        logger.info("Gave back %s after the database came back", what)
    return given
