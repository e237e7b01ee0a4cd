"""Deterministic races: another process's write, landing at an exact point of ours.

A real race needs two processes and luck. These helpers instead run the other
side's write (through the real services) right after a chosen query of the code
under test has run and before its next query, which is the moment a concurrent
commit would make a decision based on that query stale.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connection


@contextmanager
def write_after_query(
    matches: Callable[[str], bool], write: Callable[[], object]
) -> Iterator[list[str]]:
    """Run ``write()`` once: after the first query whose SQL ``matches``, before the next one.

    Yields a list that holds the matched SQL once the write has happened, so a test
    can check that the interleaving took place.
    """
    matched: list[str] = []
    state = {"armed": False, "done": False}

    def wrapper(execute, sql, params, many, context):
        if state["armed"] and not state["done"]:
            # Our query's rows are all read by now; the other side commits first.
            state["done"] = True
            write()
        result = execute(sql, params, many, context)
        if not state["armed"] and matches(sql):
            state["armed"] = True
            matched.append(sql)
        return result

    with connection.execute_wrapper(wrapper):
        yield matched
    assert state["done"], "the interleaved write never ran: no query followed the match"


def selects_from(table: str, *filters: str) -> Callable[[str], bool]:
    """A ``matches`` for a SELECT from ``table`` whose SQL mentions every one of ``filters``."""

    def matches(sql: str) -> bool:
        return (
            sql.lstrip().upper().startswith("SELECT")
            and f'"{table}"' in sql
            and all(text in sql for text in filters)
        )

    return matches


@contextmanager
def write_before_query(
    matches: Callable[[str], bool], write: Callable[[], object]
) -> Iterator[list[str]]:
    """Run ``write()`` once: right before the first query whose SQL ``matches``.

    For a statement that reads and writes at once (a claim on PostgreSQL), where no other
    commit can land between its write and its read: the nearest such commit lands before it.
    """
    matched: list[str] = []

    def wrapper(execute, sql, params, many, context):
        if not matched and matches(sql):
            matched.append(sql)
            write()
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield matched
    assert matched, "the interleaved write never ran: no query matched"
