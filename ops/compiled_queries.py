"""Reads of a fixed shape whose SQL is compiled once per process and run with new values.

Django compiles a queryset to SQL every time it is evaluated. For the few small reads
that every booking makes (some of them while the host's lock is held) that compilation
costs more than the query itself. ``query_rows(build, *values)`` builds the queryset
once with *marks* (stand-in values of the same kinds) in place of ``values``, compiles
it, notes where each mark landed among the parameters, and from then on runs that SQL
with the values put in those places, adapted for the database as the compiler adapts
them, and the rows converted as the ORM converts them (``values_list`` rows), or
made into model instances as the ORM makes them (``query_objects``: a queryset of
instances, with any ``select_related``).

``build`` must be a module-level function (marked with the model it reads, ``@reads``)
whose queryset depends only on its arguments: the *fixed* ones (compiled in, one
compilation per distinct value) and the *values*, on which it may depend only through
their kinds and list lengths: ints, strings, UUIDs, aware datetimes, and lists of ints
(one place per item, so each length compiles once).
A mark that does not land among the parameters (a value the query transforms, or puts
into the SQL text) is an error at the first call rather than a wrong answer later.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connections, router, transaction
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable, get_related_populators

_INT_MARK = -7_000_000_000_000
MAX_LIST = 1000  # items of one list value (each length compiles once; marks stay apart)
_TIME_MARK = datetime(1901, 1, 1, tzinfo=UTC)
_UUID_MARK = 0x7E57 << 112


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple
    # (place among the parameters, index of the value, index in a list value or None)
    places: tuple[tuple[int, int, int | None], ...]
    convert: Callable[[list], list]
    objects: Callable[[list], list] | None  # instances from the rows (None: a values_list read)


def _kind(value: Any) -> tuple:
    if isinstance(value, bool):
        raise TypeError("booleans shape the SQL: pass them as fixed=(…)")
    if isinstance(value, int):
        return ("int",)
    if isinstance(value, str):
        return ("str",)
    if isinstance(value, uuid.UUID):
        return ("uuid",)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError("naive datetimes are not marked")
        return ("datetime",)
    if (
        isinstance(value, list | tuple)
        and len(value) < MAX_LIST
        and all(isinstance(item, int) and not isinstance(item, bool) for item in value)
    ):
        return ("ints", len(value))
    raise TypeError(f"cannot mark a {type(value).__name__}")


def _mark(kind: tuple, number: int) -> Any:
    if kind[0] == "int":
        return _INT_MARK - number * 1000
    if kind[0] == "str":
        return f"\x00mark{number}\x00"
    if kind[0] == "datetime":
        return _TIME_MARK + timedelta(seconds=number)
    if kind[0] == "uuid":
        return uuid.UUID(int=_UUID_MARK + number)
    return [_INT_MARK - number * 1000 - item - 1 for item in range(kind[1])]


def _adapt(connection, kind: tuple, value: Any) -> Any:
    if kind[0] == "datetime":
        return connection.ops.adapt_datetimefield_value(value)
    if kind[0] == "uuid" and not connection.features.has_native_uuid_field:
        return value.hex  # as UUIDField stores it
    return value


@functools.cache
def _compiled(build: Callable[..., QuerySet], alias: str, fixed: tuple, kinds: tuple) -> _Compiled:
    connection = connections[alias]
    marks = [_mark(kind, number) for number, kind in enumerate(kinds)]
    wanted: dict[Any, tuple[int, int | None]] = {}
    for number, (kind, mark) in enumerate(zip(kinds, marks, strict=True)):
        if kind[0] == "ints":
            wanted.update({item: (number, index) for index, item in enumerate(mark)})
        else:
            wanted[_adapt(connection, kind, mark)] = (number, None)
    queryset = build(*fixed, *marks)
    compiler = queryset.query.get_compiler(alias)
    sql, params = compiler.as_sql()
    places = []
    for place, param in enumerate(params):
        found = wanted.get(param) if isinstance(param, int | str | datetime | uuid.UUID) else None
        if found is not None:
            places.append((place, *found))
    if {(number, index) for _, number, index in places} != set(wanted.values()):
        raise RuntimeError(f"{build.__qualname__}: a value did not land among the parameters")
    columns = [column for column, _, _ in compiler.select[: compiler.col_count]]
    converters = compiler.get_converters(columns)

    def convert(rows: list) -> list:
        return [tuple(row) for row in compiler.apply_converters(rows, converters)]

    convert = convert if converters else list
    instances = queryset._iterable_class is ModelIterable
    objects = _instances(compiler, compiler.klass_info, alias, convert) if instances else None
    return _Compiled(sql, tuple(params), tuple(places), convert, objects)


def _instances(compiler, klass_info: dict, alias: str, convert) -> Callable[[list], list]:
    """Rows to model instances (and their ``select_related`` objects), as the ORM's
    ``ModelIterable`` makes them (annotations are not set: none of our reads has one)."""
    if compiler.annotation_col_map:
        raise TypeError("query_objects: annotations are not set on the instances")
    fields = klass_info["select_fields"]
    start, end = fields[0], fields[-1] + 1
    names = [column.target.attname for column, _, _ in compiler.select[start:end]]
    populators = get_related_populators(klass_info, compiler.select, alias)

    def objects(rows: list) -> list:
        found = []
        for row in convert(rows):
            instance = klass_info["model"].from_db(alias, names, row[start:end])
            for populator in populators:
                populator.populate(row, instance)
            found.append(instance)
        return found

    return objects


def query_rows(
    build: Callable[..., QuerySet], *values: Any, fixed: tuple = (), using: str | None = None
) -> list[tuple]:
    """The rows of ``build(*fixed, *values)`` (a ``values_list`` queryset), its SQL
    compiled once per process for each ``fixed`` (hashable arguments that shape the
    query, passed as they are) and kinds of ``values`` (replaced by marks to compile).
    ``using``: the database (by default the one the router reads ``build.model`` from)."""
    compiled, rows = _run(build, values, fixed=fixed, using=using)
    return compiled.convert(rows)


def query_objects(
    build: Callable[..., QuerySet], *values: Any, fixed: tuple = (), using: str | None = None
) -> list[Model]:
    """The model instances of ``build(*fixed, *values)`` (a queryset of instances, with
    any ``select_related`` filled in), compiled once as ``query_rows`` compiles."""
    compiled, rows = _run(build, values, fixed=fixed, using=using)
    if compiled.objects is None:
        raise TypeError(f"{build.__qualname__}: a values_list read (use query_rows)")
    return compiled.objects(rows)


def _run(
    build: Callable[..., QuerySet], values: tuple, *, fixed: tuple, using: str | None
) -> tuple[_Compiled, list]:
    alias = using or router.db_for_read(build.model)  # type: ignore[attr-defined]
    kinds = tuple(_kind(value) for value in values)
    compiled = _compiled(build, alias, fixed, kinds)
    connection = connections[alias]
    params = list(compiled.params)
    for place, number, index in compiled.places:
        value = values[number]
        params[place] = (
            value[index] if index is not None else _adapt(connection, kinds[number], value)
        )
    with connection.cursor() as cursor:
        cursor.execute(compiled.sql, params)
        return compiled, cursor.fetchall()


def reads(model) -> Callable[[Callable[..., QuerySet]], Callable[..., QuerySet]]:
    """Names the model a ``build`` function reads (for the router)."""

    def mark(build: Callable[..., QuerySet]) -> Callable[..., QuerySet]:
        build.model = model  # type: ignore[attr-defined]
        return build

    return mark


def rows_write(model: type[Model], sql: Callable[..., str], values: list, *shape: Any) -> int:
    """Run the UPDATE ``sql(model, alias, *shape)`` with ``values`` (parameters prepared
    for the database) where the router writes ``model``; how many rows it changed.
    ``sql`` builds the text from quoted names only and is cached (``functools.cache``),
    so a write of a fixed shape is built once per process instead of by the ORM each time."""
    alias = router.db_for_write(model)
    with transaction.mark_for_rollback_on_error(using=alias), connections[alias].cursor() as cursor:
        cursor.execute(sql(model, alias, *shape), values)
        return cursor.rowcount
