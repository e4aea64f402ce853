"""Model instances from SQL written by hand: for the hottest reads of booking, where Django took
longer to build a query of several joined tables than the database took to answer it.

`Joined` lists each table's alias and model; `select()` gives the SELECT list of all their
columns, and `instances()` turns a row back into one instance per model, its values converted
as the ORM converts them (SQLite hands back text and naive times). Table and column names come
from the models; every value stays a parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Model
from django.db.models.expressions import Col

Converter = Callable[[Any, Any, Any], Any]


@dataclass
class Joined:
    """The tables of one hand-written SELECT, in the order their columns come."""

    tables: Sequence[tuple[str, type[Model]]]  # (alias, model)
    _converters: list[list[tuple[Col, list[Converter]]]] = field(default_factory=list)

    def select(self) -> str:
        return ", ".join(
            f"{alias}.{connection.ops.quote_name(f.column or f.attname)}"
            for alias, model in self.tables
            for f in model._meta.concrete_fields
        )

    def instances(self, row: Sequence[Any]) -> list[Model | None]:
        """One instance per table (None for a LEFT JOIN that found no row: its key is NULL)."""
        if not self._converters:  # worked out once (two threads at once make the same list)
            self._converters = [
                [
                    (col, connection.ops.get_db_converters(col) + f.get_db_converters(connection))
                    for f in model._meta.concrete_fields
                    for col in [Col(alias, f)]
                ]
                for alias, model in self.tables
            ]
        out: list[Model | None] = []
        at = 0
        for (_, model), converters in zip(self.tables, self._converters, strict=True):
            values = list(row[at : at + len(converters)])
            at += len(converters)
            if values[0] is None:
                out.append(None)
                continue
            for n, (col, functions) in enumerate(converters):
                for convert in functions:
                    values[n] = convert(values[n], col, connection)
            out.append(
                model.from_db(connection.alias, [f.attname for f in model._meta.concrete_fields], values)
            )
        return out
