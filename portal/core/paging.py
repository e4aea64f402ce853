"""Keyset pagination: page 1,000 costs what page 1 costs.

A list is ordered on (a time field, id): newest first, or oldest first where
the longest wait matters most (a care team's waiting conversations). A
`Cursor` is the position after the last row shown, carried in the page's
"Older" or "More" link as `?after=<cursor>`; it holds a time and an id, never
anything a patient wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

T = TypeVar("T")
R = TypeVar("R")  # a row: a model instance, or a named row with `pk`


@dataclass(frozen=True)
class Cursor:
    at: datetime
    id: int

    def encode(self) -> str:
        return f"{self.at.isoformat()}_{self.id}"

    @classmethod
    def decode(cls, raw: str | None) -> Cursor | None:
        """The cursor in a request, or None (the first page) for anything malformed."""
        if not raw or "_" not in raw:
            return None
        at, _, ident = raw.rpartition("_")
        moment = parse_datetime(at.replace(" ", "+"))
        if moment is None or not ident.isdigit() or timezone.is_naive(moment):
            return None
        return cls(moment, int(ident))


@dataclass
class Page(Generic[T]):
    rows: list[T]
    next_cursor: Cursor | None


def after(cursor: Cursor, field: str, *, ascending: bool = False) -> Q:
    """Rows after `cursor` in (field, id) descending order (ascending with `ascending`).

    The `field <= at` bound is redundant in logic but lets the database seek
    into its (owner, ..., field, id) index instead of walking every earlier row.
    """
    if ascending:
        return Q(**{f"{field}__gte": cursor.at}) & (Q(**{f"{field}__gt": cursor.at}) | Q(id__gt=cursor.id))
    return Q(**{f"{field}__lte": cursor.at}) & (Q(**{f"{field}__lt": cursor.at}) | Q(id__lt=cursor.id))


def keyset(
    query: QuerySet[Any, R], cursor: Cursor | None, *, field: str, size: int, ascending: bool = False
) -> tuple[list[R], Cursor | None]:
    """One page of `query`, newest first by (`field`, id) (oldest first with `ascending`), and
    the cursor of the next page if any. Rows are model instances, or named rows
    (`values_list(..., named=True)`) holding `pk` and `field`."""
    if cursor is not None:
        query = query.filter(after(cursor, field, ascending=ascending))
    order = (field, "id") if ascending else (f"-{field}", "-id")
    rows = list(query.order_by(*order)[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return rows, (Cursor(getattr(rows[-1], field), getattr(rows[-1], "pk")) if more and rows else None)  # noqa: B009 - R is any row
