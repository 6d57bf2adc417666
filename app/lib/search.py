"""Search and ordering helpers every list endpoint shares."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BindParameter, ColumnElement
from sqlalchemy.orm import InstrumentedAttribute

from app.lib.pagination import SortOrder


def escape_like(term: str) -> str:
    """`%` and `_` in what people type are searched for, not used as wildcards."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains_pattern(term: str) -> str:
    """The pattern `contains_ignoring_case` matches `term` with, for a bound value."""
    return f"%{escape_like(term)}%"


def search_pattern(term: str | None) -> str | None:
    """A list's bound search value: the `contains_pattern` of `term`, or `None` (no search) when
    it is absent or empty, as `?q=` is."""
    return contains_pattern(term) if term else None


def contains_ignoring_case(column: Any, term: str | BindParameter[str]) -> ColumnElement[bool]:
    """`column` contains `term`, ignoring case; a bound `term` takes a `contains_pattern`."""
    return column.ilike(term if isinstance(term, BindParameter) else contains_pattern(term), escape="\\")


def ordered(column: ColumnElement[Any] | InstrumentedAttribute[Any], order: SortOrder) -> Any:
    return column.desc() if order is SortOrder.DESC else column.asc()
