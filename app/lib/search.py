"""Search and ordering helpers every list endpoint shares."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import InstrumentedAttribute

from app.lib.pagination import SortOrder


def escape_like(term: str) -> str:
    """`%` and `_` in what people type are searched for, not used as wildcards."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains_ignoring_case(column: Any, term: str) -> ColumnElement[bool]:
    return column.ilike(f"%{escape_like(term)}%", escape="\\")


def ordered(column: ColumnElement[Any] | InstrumentedAttribute[Any], order: SortOrder) -> Any:
    return column.desc() if order is SortOrder.DESC else column.asc()
