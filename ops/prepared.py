"""Server-side prepared statements for the SQL compiled once per process (PostgreSQL).

``ops.compiled_queries`` and ``ops.compiled_inserts`` spare Django's compiler: each of
their statements is the same SQL text every time, with new values. PostgreSQL still
parsed, analysed and planned that text at every execution, and for the small reads and
writes a booking makes that was most of the server's work (a page's booking stamp: about
390 µs of the backend's CPU each time, 90 µs prepared). Here such a statement is
``PREPARE``d once per database session, the first time that session runs it, and from
then on run as ``EXECUTE name(values)``: the values are adapted by psycopg2 as before,
and PostgreSQL keeps the parsed statement (and the plan, where it judges a generic plan
no worse than the values' own: ``plan_cache_mode = auto``).

Only SQL registered by those modules (``register``) is prepared; every other statement
runs as before. Django's cursor, its query log, ``execute_wrapper`` and
``CaptureQueriesContext`` still see the SQL with its placeholders and values: the swap
happens in the driver's cursor (``PreparingCursor``, the connection's
``cursor_factory``), below them, and what a session prepared is kept on its
``PreparingConnection``. A statement PostgreSQL cannot prepare (a value whose type the
text alone does not tell) runs as before on that session; when a transaction is open
the ``PREPARE`` is tried inside a savepoint, so a refusal never breaks the caller's
transaction. Bounds: ``MAX_SQL`` texts per process (beyond it new texts run unprepared)
and ``MAX_PER_SESSION`` statements per session (beyond it the one run least recently is
deallocated, in the same round trip as the new ``PREPARE``). A statement PostgreSQL
refuses because a migration changed the type of a column it returns ("cached plan must
not change result type") is prepared again, with every other statement of its session:
outside a transaction at once, inside one after failing that transaction.

A connection pooler that hands one client's statements to several server sessions
(PgBouncer in transaction mode) loses prepared statements: set
``DATABASE_PREPARED_STATEMENTS=0`` behind one.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

import psycopg2
import psycopg2.errors
import psycopg2.extensions

MAX_SQL = 2048
MAX_PER_SESSION = 256
_PLACEHOLDER = re.compile(r"%%|%s")
_IN_FAILED_TRANSACTION = "25P02"


@dataclass(frozen=True, slots=True)
class _Statement:
    name: str  # ``so_<n>``, one per SQL text in this process
    prepare: str  # PREPARE so_<n> AS <the SQL with $1, $2, …>
    execute: str  # EXECUTE so_<n>(%s, %s, …)
    count: int  # its values


_statements: dict[str, _Statement] = {}
_statements_lock = threading.Lock()


def register(sql: str) -> None:
    """Mark ``sql`` (Django's ``%s`` placeholders) as worth preparing on PostgreSQL."""
    if sql in _statements or "$" in sql or len(_statements) >= MAX_SQL:
        return
    count = 0

    def numbered(match: re.Match) -> str:
        nonlocal count
        if match.group(0) == "%%":
            return "%"
        count += 1
        return f"${count}"

    text = _PLACEHOLDER.sub(numbered, sql)
    with _statements_lock:
        if sql not in _statements and len(_statements) < MAX_SQL:
            name = f"so_{len(_statements)}"
            execute = f"EXECUTE {name}({', '.join(['%s'] * count)})" if count else f"EXECUTE {name}"
            _statements[sql] = _Statement(name, f"PREPARE {name} AS {text}", execute, count)


class PreparingConnection(psycopg2.extensions.connection):
    """psycopg2's connection, with what its session prepared (and could not)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Prepared on this session, least recently run first.
        self.prepared: OrderedDict[str, None] = OrderedDict()
        self.unpreparable: set[str] = set()
        # Prepared here, but refused since (see PreparingCursor.execute): to deallocate.
        self.stale: set[str] = set()


class PreparingCursor(psycopg2.extensions.cursor):
    """psycopg2's cursor, running registered SQL as a prepared statement (see module).

    Its ``query`` (what Django's query log shows) is the statement with its values, as
    before, rather than the ``EXECUTE`` that ran it."""

    _ran_prepared: tuple | None = None

    @property
    def query(self):
        if self._ran_prepared is not None:
            return self.mogrify(*self._ran_prepared)
        return super().query

    def execute(self, query, vars=None):
        self._ran_prepared = None
        statement = _statements.get(query)
        if statement is None or self.name is not None:
            return super().execute(query, vars)
        if len(vars or ()) != statement.count:
            return super().execute(query, vars)
        name, connection = statement.name, self.connection
        prepared = getattr(connection, "prepared", None)
        if prepared is None:  # a connection of psycopg2's own class: nowhere to keep it
            return super().execute(query, vars)
        if name in prepared:
            prepared.move_to_end(name)
        elif not self._prepare(connection, statement):
            return super().execute(query, vars)
        try:
            super().execute(statement.execute, vars)
        except psycopg2.errors.FeatureNotSupported:
            # "cached plan must not change result type": a migration changed the type of a
            # column it returns since this session prepared it, and PostgreSQL refuses it
            # from then on. Prepare it again next time, and every other statement of the
            # session too (others may return that column: one failed transaction, not one
            # per statement); outside a transaction run it now.
            connection.stale.update(prepared)
            prepared.clear()
            if not connection.autocommit:
                raise  # the transaction is aborted: nothing to do but fail this once
            return super().execute(query, vars)
        self._ran_prepared = (query, vars)

    def _prepare(self, connection: PreparingConnection, statement: _Statement) -> bool:
        """PREPARE ``statement`` on this session (making room by deallocating the one run
        least recently when it keeps ``MAX_PER_SESSION``); False when PostgreSQL refuses it
        (then not tried again on this session)."""
        name = statement.name
        if name in connection.unpreparable:
            return False
        sql = statement.prepare
        if name in connection.stale:
            sql = f"DEALLOCATE {name}; {sql}"
        if len(connection.prepared) >= MAX_PER_SESSION:
            oldest, _ = connection.prepared.popitem(last=False)
            sql = f"DEALLOCATE {oldest}; {sql}"
        in_transaction = not connection.autocommit
        try:
            if in_transaction:  # a refusal must not abort the caller's transaction
                super().execute(f"SAVEPOINT so_prepare; {sql}; RELEASE SAVEPOINT so_prepare")
            else:
                super().execute(sql)
        except psycopg2.Error as error:
            if error.pgcode is None or error.pgcode == _IN_FAILED_TRANSACTION:
                raise  # the connection's trouble, not the statement's: as a plain run would
            if in_transaction:
                super().execute("ROLLBACK TO SAVEPOINT so_prepare; RELEASE SAVEPOINT so_prepare")
            connection.unpreparable.add(name)
            connection.stale.discard(name)
            return False
        connection.prepared[name] = None
        connection.stale.discard(name)
        return True
