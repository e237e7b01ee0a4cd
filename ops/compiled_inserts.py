"""INSERTs of new rows whose SQL is compiled once per process and run with new values.

The write counterpart of ``ops.compiled_queries``. Django compiles a new row's INSERT
every time it saves one; for the five rows every booking writes (the booking, its
calendar pushes, its emails' row, its history line, its reminders) that was about a
fifth of the booking POST's Python calls. Here the ORM's own compiler builds it once
per model, database, set of fields and number of rows, with *marks* in place of the
values, notes where each mark landed among the parameters, and from then on runs that
SQL with the rows' values put in those places.

Each value is what the ORM would send: ``field.pre_save(obj, add=True)`` (``auto_now``
and ``auto_now_add`` set the instance's attribute, as when saving), adapted by
``field.get_db_prep_save``; the returned primary key (every ``db_returning`` field) is
converted as the ORM converts it and set on the instance, which is then saved
(``_state``). Two ways in:

- ``CompiledInsert``, a model mixin: ``save()`` of a new row is the ORM's in every way
  (the model's ``save`` override, the ``pre_save``/``post_save`` signals, related objects
  checked) but for the INSERT it runs;
- ``insert_rows(objs)``, ``bulk_create(objs)`` of new rows of one model (no signals,
  as ``bulk_create`` sends none);
- ``insert_values(model, rows)``, the same from plain dictionaries of the rows' values
  (the other fields get their defaults, ``auto_now``/``auto_now_add`` the time): no
  model instance is built, and only the new primary keys come back. For rows a request
  writes on the side and never reads again (a booking's history line, emails row and
  reminders), where building instances was most of their cost.

A value the ORM would write into the SQL text (an expression: ``F()``, ``Now()``) and a
field with its own placeholder are left to the ORM, which compiles them as always.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any

from django.db import connections, models, router, transaction
from django.db.models.sql import InsertQuery
from django.utils import timezone

from ops import prepared


@dataclass(frozen=True)
class _Column:
    """How one field's value is taken from an instance and adapted for the database."""

    field: models.Field
    attname: str
    # False when ``pre_save`` only reads the attribute (most fields; not ``auto_now``).
    own_pre_save: bool
    # Kinds of values whose adaptation is known without the field's calls (``save_shortcut``)
    # and what it is: the value as it is (None), or the backend's adapter.
    quick_types: tuple[type, ...]
    quick: Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    columns: tuple[_Column, ...]
    # Per parameter: the index of a value in the flattened rows, or ``-1 - column`` for
    # the column's values of every row (PostgreSQL inserts many rows through UNNEST).
    places: tuple[int, ...]
    returning: tuple[models.Field, ...]
    convert: Callable[[list], list]
    # Every column's attribute of an instance, as a tuple, in one call.
    read: Callable[[models.Model], tuple]


class _Mark:
    """Stands for the value of one row's field while the INSERT is compiled."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


class _MarkedRow:
    def __init__(self, marks: dict[str, _Mark]) -> None:
        self.__dict__.update(marks)


def _unchanged(field: models.Field, value: Any) -> Any:
    return value


_PREP = ("get_db_prep_save", "get_db_prep_value", "get_prep_value", "to_python")


def _is_plain(field: models.Field, base: type) -> bool:
    """Whether ``field`` is a ``base`` that prepares its values as ``base`` itself does."""
    return isinstance(field, base) and all(
        getattr(type(field), name) is getattr(base, name) for name in _PREP
    )


def save_shortcut(field: models.Field, connection) -> tuple[tuple[type, ...], Callable | None]:
    """The kinds of values whose ``field.get_db_prep_save`` is known without calling it,
    and what it is, for Django's own fields as they are (no preparing method overridden):
    text and booleans (or None) go as they are, integers and aware datetimes (or None)
    through the backend's adapter, as those fields' methods end up doing. Any other value
    (a subclass, a naive datetime, a lazy string) takes the field's own way."""
    none = type(None)
    if _is_plain(field, models.CharField) or _is_plain(field, models.TextField):
        return (str, none), None
    if _is_plain(field, models.BooleanField):
        return (bool, none), None
    if _is_plain(field, models.IntegerField):
        internal_type = field.get_internal_type()
        adapt_integer = connection.ops.adapt_integerfield_value
        return (int, none), lambda value: adapt_integer(value, internal_type)
    if _is_plain(field, models.DateTimeField):
        adapt_datetime = connection.ops.adapt_datetimefield_value

        def aware(value: datetime | None) -> Any:
            if value is not None and value.utcoffset() is None:  # naive: warned, made aware
                return field.get_db_prep_save(value, connection=connection)
            return adapt_datetime(value)

        return (datetime, none), aware
    return (), None


def _column(field: models.Field, connection) -> _Column:
    quick_types, quick = save_shortcut(field, connection)
    return _Column(field, field.attname, not _pre_save_reads(field), quick_types, quick)


def _pre_save_reads(field: models.Field) -> bool:
    """Whether ``field.pre_save`` of a new row only reads the attribute (Django's own, and
    for dates and datetimes, neither ``auto_now`` nor ``auto_now_add``)."""
    pre_save = type(field).pre_save
    if pre_save in (models.DateField.pre_save, models.DateTimeField.pre_save):
        return not (field.auto_now or field.auto_now_add)
    return pre_save is models.Field.pre_save


# INSERTs kept per process, least recently used dropped first. Models and field sets are
# a fixed set, but the number of rows is the data's (a host's calendars, a booking's
# reminders), and on PostgreSQL one INSERT takes any number: unbounded, every count
# seen would stay compiled for the life of the process. Everyday use needs a few dozen.
COMPILED_LIMIT = 128


@functools.lru_cache(maxsize=COMPILED_LIMIT)
def _compiled(
    model: type[models.Model], alias: str, names: tuple[str, ...], count: int
) -> _Compiled | None:
    """The INSERT of ``count`` rows of ``model`` with the fields ``names``; None when it is
    the ORM's to do (a field with its own placeholder, a database that cannot return the
    rows' keys)."""
    meta = model._meta
    by_name = {field.attname: field for field in meta.concrete_fields}
    fields = [by_name[name] for name in names]
    features = connections[alias].features
    if (
        not features.can_return_columns_from_insert
        or (count > 1 and not features.can_return_rows_from_bulk_insert)
        or any(hasattr(field, "get_placeholder") for field in fields)
    ):
        return None
    width = len(fields)
    rows = [
        _MarkedRow({name: _Mark(row * width + column) for column, name in enumerate(names)})
        for row in range(count)
    ]
    query = InsertQuery(model)
    query.insert_values(fields, rows, raw=True)  # raw: each field's mark as it is
    compiler = query.get_compiler(alias)
    compiler.prepare_value = _unchanged  # the marks go in as they are; values are adapted later
    compiler.returning_fields = meta.db_returning_fields
    [(sql, params)] = compiler.as_sql()
    prepared.register(sql)
    places = []
    for param in params:
        if isinstance(param, _Mark):
            places.append(param.index)
        elif isinstance(param, list) and param and all(isinstance(item, _Mark) for item in param):
            column = param[0].index
            if [item.index for item in param] != [row * width + column for row in range(count)]:
                raise RuntimeError(f"{model.__name__}: a column's values came out of order")
            places.append(-1 - column)
        else:
            raise RuntimeError(f"{model.__name__}: a parameter that is no value ({param!r})")
    placed = {index for index in places if index >= 0} | {
        row * width - 1 - index for index in places if index < 0 for row in range(count)
    }
    if len(places) != len(set(places)) or placed != set(range(count * width)):
        raise RuntimeError(f"{model.__name__}: a value did not land among the parameters once")
    returning = tuple(compiler.returning_fields)
    converters = compiler.get_converters([field.get_col(meta.db_table) for field in returning])

    def convert(rows: list) -> list:
        return [tuple(row) for row in compiler.apply_converters(rows, converters)]

    connection = connections[alias]
    columns = tuple(_column(field, connection) for field in fields)
    convert_rows = convert if converters else list
    return _Compiled(sql, columns, tuple(places), returning, convert_rows, _reader(names))


def _reader(names: Sequence[str]) -> Callable[[models.Model], tuple]:
    read = attrgetter(*names)
    if len(names) == 1:
        return lambda obj: (read(obj),)
    return read


def _values(objs: Sequence[models.Model], compiled: _Compiled, connection) -> list | None:
    """The rows' values as the ORM's compiler sends them, flattened; None when one of them
    is an expression (for the ORM to compile)."""
    values = []
    for obj in objs:
        for column, value in zip(compiled.columns, compiled.read(obj), strict=True):
            if column.own_pre_save:  # e.g. ``auto_now``: the value it sets, not the one read
                value = column.field.pre_save(obj, True)
            if type(value) in column.quick_types:
                values.append(value if column.quick is None else column.quick(value))
            elif hasattr(value, "resolve_expression"):
                return None
            else:
                values.append(column.field.get_db_prep_save(value, connection=connection))
    return values


def _insert(
    model: type[models.Model], objs: Sequence[models.Model], fields: Sequence, alias: str
) -> list | None:
    """The returned rows of the compiled INSERT of ``objs``; None when it is the ORM's to do."""
    names = tuple(map(attrgetter("attname"), fields))
    compiled = _compiled(model, alias, names, len(objs))
    if compiled is None:
        return None
    connection = connections[alias]
    values = _values(objs, compiled, connection)
    if values is None:
        return None
    return _run(compiled, values, connection)


def _run(compiled: _Compiled, values: list, connection) -> list:
    """Run ``compiled`` with the rows' flattened, adapted ``values``; the returned rows."""
    width = len(compiled.columns)
    params = [
        values[place] if place >= 0 else values[-1 - place :: width] for place in compiled.places
    ]
    with connection.cursor() as cursor:
        cursor.execute(compiled.sql, params)
        rows = cursor.fetchall() if compiled.returning else []
    return compiled.convert(rows)


@functools.cache
def _new_row_fields(model: type[models.Model]) -> tuple[models.Field, ...]:
    """The fields ``bulk_create`` writes for a new row (all but its key and generated ones)."""
    meta = model._meta
    return tuple(
        field
        for field in meta.concrete_fields
        if field is not meta.auto_field and not field.generated
    )


class CompiledInsert(models.Model):
    """A model whose new rows are saved with the compiled INSERT (see the module)."""

    class Meta:
        abstract = True

    def _do_insert(self, manager, using, fields, returning_fields, raw):
        if not raw and list(returning_fields) == self._meta.db_returning_fields:
            rows = _insert(type(self), [self], fields, using)
            if rows is not None:
                return rows
        return super()._do_insert(manager, using, fields, returning_fields, raw)


def insert_rows(objs: Sequence[models.Model], *, using: str | None = None) -> list[models.Model]:
    """``bulk_create(objs)``: new rows of one model (no primary key yet), in one INSERT
    compiled once per number of rows; each instance gets its primary key. No signals.
    More rows than the database takes in one INSERT (``bulk_batch_size``) are
    ``bulk_create``'s, in its batches."""
    if not objs:
        return []
    model = type(objs[0])
    meta = model._meta
    if meta.parents or any(type(obj) is not model or obj.pk is not None for obj in objs):
        raise TypeError("insert_rows: new rows of one model without parents")
    alias = using or router.db_for_write(model)
    fields = _new_row_fields(model)
    if len(objs) > max(connections[alias].ops.bulk_batch_size(list(fields), objs), 1):
        # More rows than one statement carries on this database (SQLite: 999 parameters):
        # bulk_create's batches (and no SQL compiled and kept for a count seldom seen).
        return model._default_manager.db_manager(alias).bulk_create(objs)
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="insert_rows")
    # As bulk_create (atomic(savepoint=False)): a failed INSERT marks the caller's atomic
    # block for rollback, so it cannot carry on (and commit) as if the rows were written.
    with transaction.mark_for_rollback_on_error(using=alias):
        rows = _insert(model, objs, fields, alias)
    if rows is None:
        return model._default_manager.db_manager(alias).bulk_create(objs)
    returning = meta.db_returning_fields
    for obj, row in zip(objs, rows, strict=True):
        for field, value in zip(returning, row, strict=True):
            setattr(obj, field.attname, value)
        obj._state.adding = False
        obj._state.db = alias
    return list(objs)


_NOW = object()  # stands for "the time of the INSERT" (``auto_now``, ``auto_now_add``)


@functools.cache
def _defaults(model: type[models.Model]) -> tuple[tuple[str, Any, Callable | None], ...]:
    """Per field ``bulk_create`` writes: its attribute name, the value a row that names
    none gets when it is fixed (``_NOW`` for ``auto_now``/``auto_now_add``), else None and
    the field's ``get_default`` (a callable default, called for each row)."""
    defaults = []
    for field in _new_row_fields(model):
        if not _pre_save_reads(field):
            if type(field).pre_save not in (
                models.DateField.pre_save,
                models.DateTimeField.pre_save,
            ):
                raise TypeError(f"{model.__name__}.{field.name}: its pre_save needs an instance")
            defaults.append((field.attname, _NOW, None))
        elif field.has_default() and callable(field.default):
            defaults.append((field.attname, None, field.get_default))
        else:
            defaults.append((field.attname, field.get_default(), None))
    return tuple(defaults)


def insert_values(
    model: type[models.Model], rows: Sequence[dict[str, Any]], *, using: str | None = None
) -> list:
    """New rows of ``model`` from dictionaries of attribute names (``booking_id``, not
    ``booking``) to values, in one INSERT; their primary keys, in order. Fields a row does
    not name get their defaults, as ``model(**row)`` would; ``auto_now`` and
    ``auto_now_add`` fields the time of the call, as saving would. Plain values only (no
    expressions); no signals, as ``bulk_create``. Where the compiled INSERT is not the
    way (see ``insert_rows``) the rows are made as instances and ``insert_rows``'d."""
    if not rows:
        return []
    meta = model._meta
    if meta.parents:
        raise TypeError("insert_values: rows of a model without parents")
    defaults = _defaults(model)
    known = {attname for attname, _, _ in defaults}
    for row in rows:
        if not known.issuperset(row):
            raise TypeError(
                f"insert_values: {sorted(set(row) - known)} are no {model.__name__} columns"
            )
    alias = using or router.db_for_write(model)
    connection = connections[alias]
    names = tuple(attname for attname, _, _ in defaults)
    compiled = None
    if len(rows) <= max(connection.ops.bulk_batch_size(list(_new_row_fields(model)), rows), 1):
        compiled = _compiled(model, alias, names, len(rows))
    if compiled is None:
        return [obj.pk for obj in insert_rows([model(**row) for row in rows], using=alias)]
    now = None
    values = []
    append = values.append
    for row in rows:
        for column, (attname, fixed, make) in zip(compiled.columns, defaults, strict=True):
            if fixed is _NOW:
                if now is None:
                    now = timezone.now()
                value = now
            elif attname in row:
                value = row[attname]
            else:
                value = fixed if make is None else make()
            if type(value) in column.quick_types:
                append(value if column.quick is None else column.quick(value))
            elif hasattr(value, "resolve_expression"):
                raise TypeError(f"insert_values: {attname} is an expression")
            else:
                append(column.field.get_db_prep_save(value, connection=connection))
    with transaction.mark_for_rollback_on_error(using=alias):
        returned = _run(compiled, values, connection)
    pk_index = [field.attname for field in compiled.returning].index(meta.pk.attname)
    return [row[pk_index] for row in returned]
