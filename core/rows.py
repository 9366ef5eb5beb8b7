"""Model instances from the rows of a hand-written statement.

Django's RawQuerySet matches the cursor's column names to the model's fields again on every
execution, which on the statements every request runs (who is asking, may the open clip still be
heard) cost more than running them. Here a statement lists a model's columns in an order fixed once
(`columns_sql`), and `instance` turns the leading values of a row into the model, each value through
the converters the ORM itself would apply (a SQLite date comes back as text, a JSON column as a
string); whatever the statement selects after them is the caller's to read.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model


@cache
def _fields(model: type[Model], names: tuple[str, ...] | None) -> tuple:
    """The concrete fields named (all when None), in the model's order: Model.from_db reads values
    in that order."""
    fields = tuple(field for field in model._meta.concrete_fields
                   if names is None or field.name in names or field.attname in names)
    if names is not None and len(fields) != len(names):
        raise ValueError(f"{model.__name__} has no concrete field for some of {names}")
    return fields


@cache
def _converters(model: type[Model], names: tuple[str, ...] | None, vendor: str) -> tuple:
    """Per field: (its attname, its column expression, the converters a value read from `vendor`
    passes through on its way into the model)."""
    connection = connections[DEFAULT_DB_ALIAS]
    found = []
    for field in _fields(model, names):
        column = field.get_col(model._meta.db_table)
        found.append((field.attname, column,
                      tuple(connection.ops.get_db_converters(column)) + tuple(field.get_db_converters(connection))))
    return tuple(found)


def columns_sql(model: type[Model], alias: str, names: tuple[str, ...] | None = None) -> str:
    """The select list of the model's columns under `alias` (those in `names`, or all), in the
    order `instance` reads them: the model's own, whatever order `names` lists them in."""
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    return ", ".join(f"{alias}.{quote(field.column)}" for field in _fields(model, names))


def db_value(model: type[Model], field: str, value):
    """A parameter for hand-written SQL, prepared as the ORM would (UUIDs and times differ per backend)."""
    return model._meta.get_field(field).get_db_prep_value(value, connections[DEFAULT_DB_ALIAS])


def fetch(sql: str, params: Sequence) -> list[tuple]:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def instance(model: type[Model], row: Sequence, names: tuple[str, ...] | None = None) -> Model:
    """The model from the first values of `row`, which a statement selected with columns_sql(model,
    alias, names); fields not named are deferred (read from the database if ever touched)."""
    connection = connections[DEFAULT_DB_ALIAS]
    attnames, values = [], []
    for (attname, column, converters), value in zip(_converters(model, names, connection.vendor), row, strict=False):
        for convert in converters:
            value = convert(value, column, connection)
        attnames.append(attname)
        values.append(value)
    return model.from_db(DEFAULT_DB_ALIAS, attnames, values)
