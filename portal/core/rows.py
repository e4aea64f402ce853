"""Rows written by hand, for the hottest writes: names from the models, every value a parameter.

Django's `bulk_create` prepares every field of every row on its own and builds a model
instance for each; for the few rows a Send or a booking writes (the e-mails, their attachments
and delivery tasks, the notices) that was most of the CPU the notices cost. `insert()` prepares a value the rows
share once, each row's own values as the field would (`get_db_prep_save`), and writes them in
one INSERT that returns the new keys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection
from django.db.models import Model
from django.utils import timezone


def quoted(model: type[Model], name: str = "") -> str:
    """A model's table, or one of its fields' column, quoted for this database."""
    if not name:
        return connection.ops.quote_name(model._meta.db_table)
    column = model._meta.get_field(name).column  # type: ignore[union-attr]
    assert column is not None  # noqa: S101 - concrete fields have one
    return connection.ops.quote_name(column)


def insert(
    model: type[Model], rows: Sequence[Mapping[str, Any]], *, same: Mapping[str, Any] | None = None
) -> list[Any]:
    """Insert `rows` (each its own values, by attribute name: `message_id` for a foreign key)
    with the values in `same` for all of them. A field named in neither takes its default: one
    made by a function is made for each row (a key, a Message-ID), any other once, and an
    `auto_now`/`auto_now_add` field the time now. Returns the rows' primary keys in order.
    Like `bulk_create`, it sends no signals."""
    if not rows:
        return []
    same = same or {}
    pk = model._meta.pk
    assert pk is not None  # noqa: S101 - every model has one
    columns: list[str] = []
    shared: list[tuple[int, Any]] = []  # (position, prepared value) every row shares
    each: list[tuple[int, Any, bool]] = []  # (position, field, in the row) for a value per row
    for field in model._meta.concrete_fields:
        name = field.attname
        if name in rows[0]:
            each.append((len(columns), field, True))
        elif name in same:
            shared.append((len(columns), field.get_db_prep_save(same[name], connection)))
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            shared.append((len(columns), field.get_db_prep_save(timezone.now(), connection)))
        elif field is pk and not field.has_default():
            continue  # the database numbers it
        elif field.has_default() and callable(field.default):
            each.append((len(columns), field, False))
        else:
            shared.append((len(columns), field.get_db_prep_save(field.get_default(), connection)))
        columns.append(connection.ops.quote_name(field.column or field.attname))
    params: list[Any] = []
    for row in rows:
        values: list[Any] = [None] * len(columns)
        for at, value in shared:
            values[at] = value
        for at, field, given in each:
            values[at] = field.get_db_prep_save(
                row[field.attname] if given else field.get_default(), connection
            )
        params.extend(values)
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    sql = (
        f"INSERT INTO {quoted(model)} ({', '.join(columns)}) "  # noqa: S608 - names from the model
        f"VALUES {', '.join([placeholders] * len(rows))} RETURNING {quoted(model, pk.name)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        keys = [pk.to_python(row[0]) for row in cursor.fetchall()]
    if len(keys) != len(rows):
        raise RuntimeError(f"{len(rows)} rows were written and {len(keys)} keys came back")
    return keys
