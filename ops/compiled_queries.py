"""Reads and UPDATEs of a fixed shape whose SQL is compiled once per process and run
with new values.

Django compiles a queryset to SQL every time it is evaluated. For the few small reads
and conditional writes that every booking makes (some of them while the host's lock is
held, the outbox claims and the mailbox call slots in every task) that compilation costs
more than the query itself. ``query_rows(build, *values)`` builds the queryset once with
*marks* (stand-in values of the same kinds) in place of ``values``, compiles it, notes
where each mark landed among the parameters, and from then on runs that SQL with the
values put in those places, adapted for the database as the compiler adapts them, and
the rows converted as the ORM converts them (``values_list`` rows), or made into model
instances as the ORM makes them (``query_objects``: a queryset of instances, with any
``select_related``).

``update_rows(build, *values)`` does the same for ``queryset.update(**assigned)``:
``build`` returns the queryset and the ``assigned`` dict, the ORM's update compiler
compiles them, and each call returns how many rows changed. So a conditional write
states its condition once, with the ORM's filters and Q objects (the ones the rest of
the code reads with), rather than again as SQL text. A value assigned as it is may be of
any kind (a dict for a JSONField): at each call its field adapts it as the update
compiler would (``get_db_prep_save``).

``build`` must be a module-level function (marked with the model it reads, ``@reads``,
or updates, ``@writes``) whose queryset depends only on its arguments: the *fixed* ones
(compiled in, one compilation per distinct value) and the *values*, on which it may
depend only through their kinds and list lengths: ints, strings, UUIDs, aware
datetimes, and lists of ints or of strings (one place per item, so each length compiles
once; an empty list is the caller's to answer, as the ORM answers it without a query).
None is compiled in where it is, as the ORM writes it (``IS NULL`` in a condition,
``= NULL`` in an assignment): a shape with None compiles apart from one without. So are
an update's booleans, one compilation per value.

Each shape is compiled twice, with two different sets of marks, and the two must agree
but for the marks: a mark that does not land among the parameters, or a parameter that
changes with the marks without being one (a value the query transforms, such as
``now + tolerance`` or ``"%" + text``, or puts into the SQL text) is an error at the
first call rather than a wrong answer later; so, almost always, is a value ``build``
reads itself (the clock), which would be frozen into the SQL.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connections, router, transaction
from django.db.models import Expression, Model, QuerySet
from django.db.models.query import ModelIterable, get_related_populators
from django.db.models.sql import UpdateQuery

from ops import prepared
from ops.compiled_inserts import save_shortcut

MAX_LIST = 1000  # items of one list value (each length compiles once; marks stay apart)
# Two sets of marks (the second compilation's apart from the first's). A single int is
# marked within every integer field's range (a lookup on a small integer field refuses a
# value outside it); list items are primary keys.
_INT_MARKS = (29_311, 31_567)
_INT_LIST_MARKS = (-7_000_000_000_000, -8_000_000_000_000)
_TIME_MARKS = (
    (datetime(1901, 1, 1, tzinfo=UTC), timedelta(seconds=1009, microseconds=7)),
    (datetime(1902, 6, 1, tzinfo=UTC), timedelta(seconds=2003, microseconds=11)),
)
_UUID_MARKS = (0x7E57 << 112, 0x7E58 << 112)
_SCALARS = ("int", "str", "datetime", "uuid")

# How a value is adapted for one parameter at each call (None: as it is).
Adapt = Callable[[Any, Any], Any] | None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple
    # (place among the parameters, index of the value, index in a list value or None, adapt)
    places: tuple[tuple[int, int, int | None, Adapt], ...]
    convert: Callable[[list], list] | None  # the rows as the ORM converts them (reads)
    objects: Callable[[list], list] | None  # instances from the rows (None: a values_list read)


class _Any:
    """Stands for a value of any other kind assigned by an UPDATE."""

    __slots__ = ("number",)

    def __init__(self, number: int) -> None:
        self.number = number

    def __repr__(self) -> str:
        return f"<value {self.number}>"


class _Slot(Expression):
    """Stands for a value assigned by an UPDATE while it is compiled: one parameter,
    adapted at each call by its field (``adapt``)."""

    def __init__(self, number: int, adapt: Callable[[Any, Any], Any]) -> None:
        super().__init__()
        self.number = number
        self.adapt = adapt

    def as_sql(self, compiler, connection) -> tuple[str, list]:
        return "%s", [self]


def _kind(value: Any, *, update: bool = False) -> tuple:
    if value is None:
        return ("none",)
    if isinstance(value, bool):
        if update:
            return ("bool", value)
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
    if isinstance(value, list | tuple) and len(value) < MAX_LIST:
        if all(isinstance(item, int) and not isinstance(item, bool) for item in value):
            return ("ints", len(value))
        if all(isinstance(item, str) for item in value):
            return ("strs", len(value))
    if hasattr(value, "resolve_expression"):
        raise TypeError("expressions shape the SQL: put them in build, or pass them as fixed")
    if update and not isinstance(value, Model):
        return ("any",)  # only to be assigned as it is (a dict or list for a JSONField)
    raise TypeError(f"cannot mark a {type(value).__name__}")


def _mark(kind: tuple, number: int, variant: int) -> Any:
    name = kind[0]
    if name == "int":
        return _INT_MARKS[variant] + 13 * number
    if name == "str":
        return f"\x00mark{variant}:{number}\x00"
    if name == "datetime":
        start, step = _TIME_MARKS[variant]
        return start + step * number
    if name == "uuid":
        return uuid.UUID(int=_UUID_MARKS[variant] + number)
    if name == "strs":
        return [f"\x00mark{variant}:{number}.{item}\x00" for item in range(kind[1])]
    if name == "ints":
        start = _INT_LIST_MARKS[variant] - number * 1000
        return [start - item - 1 for item in range(kind[1])]
    if name == "none":
        return None
    if name == "bool":
        return kind[1]
    return _Any(number)


def _adapt_datetime(value: datetime, connection) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _uuid_hex(value: uuid.UUID, connection) -> str:
    return value.hex  # as UUIDField stores it without a native type


def _adapter(connection, kind: tuple) -> Adapt:
    """How a value of ``kind`` in a condition is adapted, as the lookups adapt it."""
    if kind[0] == "datetime":
        return _adapt_datetime
    if kind[0] == "uuid" and not connection.features.has_native_uuid_field:
        return _uuid_hex
    return None


def _save_adapter(field, connection) -> Callable[[Any, Any], Any]:
    """How a value assigned to ``field`` is adapted, as the update compiler adapts it."""
    quick_types, quick = save_shortcut(field, connection)

    def adapt(value: Any, connection) -> Any:
        if type(value) in quick_types:
            return value if quick is None else quick(value)
        return field.get_db_prep_save(value, connection=connection)

    return adapt


@dataclass(frozen=True)
class _Marked:
    """One compilation with one set of marks."""

    sql: str
    params: tuple
    places: tuple[tuple[int, int, int | None, Adapt], ...]
    compiler: Any
    queryset: QuerySet


def _marked(
    build: Callable, alias: str, fixed: tuple, kinds: tuple, variant: int, update: bool
) -> _Marked:
    connection = connections[alias]
    marks = [_mark(kind, number, variant) for number, kind in enumerate(kinds)]
    wanted: dict[Any, tuple[int, int | None, Adapt]] = {}
    for number, (kind, mark) in enumerate(zip(kinds, marks, strict=True)):
        if kind[0] in ("ints", "strs"):
            wanted.update({item: (number, index, None) for index, item in enumerate(mark)})
        elif kind[0] in _SCALARS:
            adapt = _adapter(connection, kind)
            wanted[mark if adapt is None else adapt(mark, connection)] = (number, None, adapt)
    if update:
        queryset, assigned = build(*fixed, *marks)
        compiler = _update_compiler(queryset, assigned, marks, kinds, alias)
    else:
        queryset = build(*fixed, *marks)
        compiler = queryset.query.get_compiler(alias)
    sql, params = compiler.as_sql()
    places, assigned_numbers = [], set()
    for place, param in enumerate(params):
        if isinstance(param, _Slot):
            places.append((place, param.number, None, param.adapt))
            assigned_numbers.add(param.number)
        elif isinstance(param, int | str | datetime | uuid.UUID) and param in wanted:
            places.append((place, *wanted[param]))
    if not _all_landed(kinds, wanted, places, assigned_numbers):
        raise RuntimeError(f"{build.__qualname__}: a value did not land among the parameters")
    return _Marked(sql, tuple(params), tuple(places), compiler, queryset)


def _all_landed(kinds: tuple, wanted: dict, places: list, assigned_numbers: set[int]) -> bool:
    """Whether every value is a parameter: assigned as it is, or (in a condition) as a
    parameter of its own, or each of a list's items one."""
    landed = {(number, index) for _, number, index, _ in places}
    for number, index, _ in wanted.values():
        # A list that is assigned whole need not be in a condition, but if one of its
        # items is, all must be.
        whole = number in assigned_numbers and index is not None
        if (number, index) not in landed and not (
            whole and not any(found == number and at is not None for found, at in landed)
        ):
            return False
    return all(number in assigned_numbers for number, kind in enumerate(kinds) if kind[0] == "any")


def _update_compiler(queryset: QuerySet, assigned: dict, marks: list, kinds: tuple, alias: str):
    """The ORM's compiler of ``queryset.update(**assigned)``, each value assigned as it is
    (one of the marks) standing as one parameter that its field adapts at each call."""
    connection = connections[alias]
    # Which mark a value is: by identity (None and booleans are compiled in, not marks).
    numbers = {
        id(mark): number
        for number, (kind, mark) in enumerate(zip(kinds, marks, strict=True))
        if kind[0] not in ("none", "bool")
    }
    meta = queryset.model._meta
    slotted = {}
    for name, value in assigned.items():
        number = numbers.get(id(value))
        if number is not None:
            field = meta.get_field(name)
            if hasattr(field, "get_placeholder"):
                raise TypeError(f"{field}: a field with its own placeholder is the ORM's")
            value = _Slot(number, _save_adapter(field, connection))
        slotted[name] = value
    if not slotted:
        raise TypeError("update_rows: nothing assigned")
    query = queryset.query.chain(UpdateQuery)
    query.add_update_values(slotted)
    if query.related_updates or query.order_by:
        raise TypeError("update_rows: a parent model's fields or an ordering are the ORM's")
    query.annotations = {}  # as QuerySet.update (none is in the SQL)
    return query.get_compiler(alias)


_PLAIN = (int, float, str, bytes, datetime, uuid.UUID)


def _same_shape(build: Callable, first: _Marked, second: _Marked) -> None:
    """The two compilations agree but for the marks (see the module)."""
    shape = [(place, number, index) for place, number, index, _ in first.places]
    if first.sql != second.sql or shape != [p[:3] for p in second.places]:
        raise RuntimeError(f"{build.__qualname__}: a value shapes the SQL text")
    marked = {place for place, *_ in first.places}
    for place, (one, other) in enumerate(zip(first.params, second.params, strict=True)):
        if place in marked:
            continue
        if (isinstance(one, _PLAIN) or isinstance(other, _PLAIN)) and (
            type(one) is not type(other) or one != other
        ):
            raise RuntimeError(
                f"{build.__qualname__}: parameter {place} changes with the values "
                f"({one!r}, {other!r}) without being one of them"
            )


# Shapes kept per process, least recently used dropped first. The call sites are a fixed
# set, but a shape's key also holds each list value's length, which grows with the data
# (a collective page's members, a meeting's attendees: up to MAX_LIST each) and each
# compilation keeps its compiler and queryset. Everyday use needs a few dozen.
COMPILED_LIMIT = 256


@functools.lru_cache(maxsize=COMPILED_LIMIT)
def _compiled(
    build: Callable, alias: str, fixed: tuple, kinds: tuple, update: bool = False
) -> _Compiled:
    first = _marked(build, alias, fixed, kinds, 0, update)
    _same_shape(build, first, _marked(build, alias, fixed, kinds, 1, update))
    prepared.register(first.sql)
    if update:
        return _Compiled(first.sql, first.params, first.places, None, None)
    compiler = first.compiler
    columns = [column for column, _, _ in compiler.select[: compiler.col_count]]
    converters = compiler.get_converters(columns)

    def convert(rows: list) -> list:
        return [tuple(row) for row in compiler.apply_converters(rows, converters)]

    convert = convert if converters else list
    instances = first.queryset._iterable_class is ModelIterable
    objects = _instances(compiler, compiler.klass_info, alias, convert) if instances else None
    return _Compiled(first.sql, first.params, first.places, convert, objects)


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
    return compiled.convert(rows)  # type: ignore[misc]


def query_objects(
    build: Callable[..., QuerySet], *values: Any, fixed: tuple = (), using: str | None = None
) -> list[Model]:
    """The model instances of ``build(*fixed, *values)`` (a queryset of instances, with
    any ``select_related`` filled in), compiled once as ``query_rows`` compiles."""
    compiled, rows = _run(build, values, fixed=fixed, using=using)
    if compiled.objects is None:
        raise TypeError(f"{build.__qualname__}: a values_list read (use query_rows)")
    return compiled.objects(rows)


def update_rows(
    build: Callable[..., tuple[QuerySet, dict[str, Any]]],
    *values: Any,
    fixed: tuple = (),
    using: str | None = None,
) -> int:
    """``queryset.update(**assigned)`` for ``(queryset, assigned) = build(*fixed, *values)``:
    how many rows it changed. Compiled once as ``query_rows`` compiles, by the ORM's
    update compiler; ``using``: by default where the router writes ``build.model``.
    A failed UPDATE marks the caller's atomic block for rollback, as ``update`` does."""
    alias = using or router.db_for_write(build.model)  # type: ignore[attr-defined]
    kinds = tuple(_kind(value, update=True) for value in values)
    compiled = _compiled(build, alias, fixed, kinds, True)
    connection = connections[alias]
    params = _params(compiled, values, connection)
    with transaction.mark_for_rollback_on_error(using=alias), connection.cursor() as cursor:
        cursor.execute(compiled.sql, params)
        return cursor.rowcount


def update_and_read(
    build: Callable[..., tuple[QuerySet, dict[str, Any]]],
    *values: Any,
    read: Callable[..., QuerySet],
    read_values: tuple = (),
    fixed: tuple = (),
    read_fixed: tuple = (),
    using: str | None = None,
) -> list[Model] | None:
    """``update_rows(build, *values)`` and then ``query_objects(read, *read_values)``:
    None when the UPDATE changed no row, else the instances the read finds.

    ``read`` reads the model ``build`` updates, with any ``select_related``, and must
    find only rows the UPDATE changed (say, the same primary key). On PostgreSQL both
    are one statement: ``WITH <table> AS (UPDATE … RETURNING <table>.*) <read>``, the
    read seeing the rows as the UPDATE left them (and the related rows as of that same
    moment); elsewhere, two statements in that order."""
    alias = using or router.db_for_write(build.model)  # type: ignore[attr-defined]
    kinds = tuple(_kind(value, update=True) for value in values)
    read_kinds = tuple(_kind(value) for value in read_values)
    connection = connections[alias]
    if connection.vendor != "postgresql":
        if not update_rows(build, *values, fixed=fixed, using=alias):
            return None
        return query_objects(read, *read_values, fixed=read_fixed, using=alias)
    sql, updating, reading = _update_and_read(
        build, read, alias, fixed, kinds, read_fixed, read_kinds
    )
    params = _params(updating, values, connection) + _params(reading, read_values, connection)
    with transaction.mark_for_rollback_on_error(using=alias), connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return reading.objects(rows) if rows else None  # type: ignore[misc]


@functools.lru_cache(maxsize=COMPILED_LIMIT)
def _update_and_read(
    build: Callable,
    read: Callable,
    alias: str,
    fixed: tuple,
    kinds: tuple,
    read_fixed: tuple,
    read_kinds: tuple,
) -> tuple[str, _Compiled, _Compiled]:
    """The one statement of ``update_and_read`` on PostgreSQL: the read's table is the
    UPDATE's rows, as a common table expression of the same name (so the read's SQL,
    compiled by the ORM, is used as it is)."""
    updating = _compiled(build, alias, fixed, kinds, True)
    reading = _compiled(read, alias, read_fixed, read_kinds)
    if reading.objects is None:
        raise TypeError(f"{read.__qualname__}: a values_list read (use a queryset of instances)")
    # "UPDATE <table> SET …": the table as the update compiler quotes it.
    table = updating.sql.split(" ", 2)[1]
    # The read names the table once, as its FROM, and joins no other copy of it: every
    # reference to it is then a reference to the UPDATE's rows.
    if reading.sql.count(f"FROM {table}") != 1 or reading.sql.count(f"JOIN {table}") != 0:
        raise TypeError(f"{read.__qualname__}: must read {table} once, as its FROM")
    sql = f"WITH {table} AS ({updating.sql} RETURNING {table}.*) {reading.sql}"
    prepared.register(sql)
    return sql, updating, reading


def _params(compiled: _Compiled, values: tuple, connection) -> list:
    params = list(compiled.params)
    for place, number, index, adapt in compiled.places:
        value = values[number] if index is None else values[number][index]
        params[place] = value if adapt is None else adapt(value, connection)
    return params


def _run(
    build: Callable[..., QuerySet], values: tuple, *, fixed: tuple, using: str | None
) -> tuple[_Compiled, list]:
    alias = using or router.db_for_read(build.model)  # type: ignore[attr-defined]
    kinds = tuple(_kind(value) for value in values)
    compiled = _compiled(build, alias, fixed, kinds)
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(compiled.sql, _params(compiled, values, connection))
        return compiled, cursor.fetchall()


def reads(model) -> Callable[[Callable[..., QuerySet]], Callable[..., QuerySet]]:
    """Names the model a ``build`` function reads (for the router)."""

    def mark(build: Callable[..., QuerySet]) -> Callable[..., QuerySet]:
        build.model = model  # type: ignore[attr-defined]
        return build

    return mark


def writes(model) -> Callable[[Callable], Callable]:
    """Names the model a ``build`` function of ``update_rows`` updates (for the router)."""
    return reads(model)
