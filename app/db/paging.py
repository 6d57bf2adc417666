"""One way to fetch what read endpoints return: a page of a list, or one row as a schema.

A page is a window count, limit/offset, and a total even past the end.

The statement a caller passes carries its columns, joins, filters and ordering; the helpers add
`count(*) OVER ()` so one query returns the page and the total. Only a page that comes back
empty (an offset past the end, or no rows at all) costs a second query, a count of the same
statement, so `total` is right either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import msgspec
from sqlalchemy import Row, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_scoped_session

from app.lib.errors import ResourceNotFoundError
from app.lib.pagination import Page

T = TypeVar("T")


async def fetch_rows(
    session: AsyncSession | async_scoped_session[AsyncSession],
    statement: Select[*tuple[Any, ...]],
    *,
    page: Page,
) -> tuple[Sequence[Row[*tuple[Any, ...]]], int]:
    """The page's rows as selected (plus a trailing `total` column) and the number of rows in all."""
    paged = statement.add_columns(func.count().over().label("total")).limit(page.limit).offset(page.offset)
    rows = (await session.execute(paged)).all()
    if rows:
        return rows, int(rows[0][-1])
    count = select(func.count()).select_from(statement.order_by(None).subquery())
    return [], int((await session.execute(count)).scalar_one())


async def fetch_page(
    session: AsyncSession | async_scoped_session[AsyncSession],
    statement: Select[*tuple[Any, ...]],
    *,
    page: Page,
    schema: type[T],
) -> tuple[list[T], int]:
    """The page converted to `schema` by column name (not strictly, as the rows come from the database)."""
    rows, total = await fetch_rows(session, statement, page=page)
    items: list[T] = msgspec.convert([row._mapping for row in rows], list[schema], strict=False)
    return items, total


async def fetch_one(
    session: AsyncSession | async_scoped_session[AsyncSession],
    statement: Select[*tuple[Any, ...]],
    *,
    schema: type[T],
    missing: str,
) -> T:
    """The single row of `statement` as `schema`; `missing` is the 404's detail when there is none
    (a row hidden by row-level security is missing too)."""
    row = (await session.execute(statement)).mappings().first()
    if row is None:
        raise ResourceNotFoundError(missing)
    return msgspec.convert(row, schema, strict=False)


__all__ = ["fetch_one", "fetch_page", "fetch_rows"]
