"""One way to fetch what read endpoints return: a page of a list, or one row as a schema.

A page is a window count, limit/offset, and a total even past the end.

The statement a caller passes carries its columns, joins, filters and ordering; the helpers add
`count(*) OVER ()` so one query returns the page and the total. Only a page that comes back
empty past the first (an offset past the end) costs a second query, a count of the same
statement, so `total` is right either way (an empty first page needs none: the total is 0).

`PreparedGet` is `fetch_one` for a statement whose only varying values are named `bindparam`s (a
get by id): it is built and compiled on first use, so a request builds no statement at all.
`PreparedPage` is `fetch_page` the same way, once per shape (sort, direction, which filters are
set): on a list of 20, building and cache-keying its statement was a third of the request's
Python. The hot lists use it; `fetch_page` stays for lists whose statement is not worth a shape.

`fetch_page` and `fetch_one` take the fast path of `app.db.reads`: each statement shape is
compiled once, runs on the session's own asyncpg connection (same transaction, same tenant
context, same row-level security) and its rows become schemas by position. `fetch_rows` is
for statements that select ORM entities, which need the ORM to build them.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar

import msgspec
from sqlalchemy import Integer, Row, Select, bindparam, func, literal_column, select

from app.db.reads import AnySession, CompiledRead, fetch_prepared, fetch_records, prepare, row_builder
from app.lib.errors import ResourceNotFoundError
from app.lib.pagination import Page

T = TypeVar("T")

_TOTAL = func.count(literal_column("*")).over().label("total")


async def fetch_rows(
    session: AnySession,
    statement: Select[*tuple[Any, ...]],
    *,
    page: Page,
) -> tuple[Sequence[Row[*tuple[Any, ...]]], int]:
    """The page's rows as selected (plus a trailing `total` column) and the number of rows in all.

    Through the ORM: for statements that select entities (`select(Team, ...)`); column reads
    belong in `fetch_page`.
    """
    paged = statement.add_columns(_TOTAL).limit(page.limit).offset(page.offset)
    rows = (await session.execute(paged)).all()
    if rows:
        return rows, int(rows[0][-1])
    if page.offset == 0:
        return [], 0
    count = select(func.count()).select_from(statement.order_by(None).subquery())
    return [], int((await session.execute(count)).scalar_one())


async def fetch_page(
    session: AnySession,
    statement: Select[*tuple[Any, ...]],
    *,
    page: Page,
    schema: type[T],
) -> tuple[list[T], int]:
    """The page as `schema` instances (fields matched to columns by name) and the total."""
    paged = statement.add_columns(_TOTAL).limit(page.limit).offset(page.offset)
    read, records = await fetch_records(session, paged)
    if records:
        build = row_builder(read, schema)
        return [build(record) for record in records], int(records[0][-1])
    if page.offset == 0:  # nothing at all
        return [], 0
    return [], await count_rows(session, statement)


async def count_rows(session: AnySession, statement: Select[*tuple[Any, ...]]) -> int:
    """How many rows `statement` returns (its ordering dropped)."""
    count = select(func.count()).select_from(statement.order_by(None).subquery())
    _, records = await fetch_records(session, count)
    return int(records[0][0])


async def fetch_one(
    session: AnySession,
    statement: Select[*tuple[Any, ...]],
    *,
    schema: type[T],
    missing: str,
) -> T:
    """The single row of `statement` as `schema`; `missing` is the 404's detail when there is none
    (a row hidden by row-level security is missing too)."""
    row = await fetch_one_or_none(session, statement, schema=schema)
    if row is None:
        raise ResourceNotFoundError(missing)
    return row


async def fetch_one_or_none(
    session: AnySession, statement: Select[*tuple[Any, ...]], *, schema: type[T]
) -> T | None:
    """The first row of `statement` as `schema`, or `None`."""
    read, records = await fetch_records(session, statement)
    if not records:
        return None
    return row_builder(read, schema)(records[0])


class PreparedGet(Generic[T]):
    """One row as `schema` by named values, from a statement built and compiled once.

    `build` returns the statement with `bindparam`s for the values a request varies; it runs on
    the first `fetch` (not at import, when the models may not all be mapped yet)."""

    def __init__(
        self, build: Callable[[], Select[*tuple[Any, ...]]], *, schema: type[T], missing: str
    ) -> None:
        self._build = build
        self._read: CompiledRead | None = None
        self.schema = schema
        self.missing = missing

    async def fetch(self, session: AnySession, **values: Any) -> T:
        """The row; `missing` is the 404's detail when there is none (or RLS hides it)."""
        read = self._read
        if read is None:
            read = self._read = prepare(self._build())
        records = await fetch_prepared(session, read, values)
        if not records:
            raise ResourceNotFoundError(self.missing)
        return row_builder(read, self.schema)(records[0])


class PreparedPage(Generic[T]):
    """A page as `schema` and the total, from statements built and compiled once per shape.

    `build(*shape)` returns the list's statement for one shape (its ordering, which optional
    filters it has) with a named `bindparam` for every value a request varies; `fetch` passes
    the values by name. The page's limit and offset are added here, and the total: a window
    count, or the scalar of `count(*shape)` for a list that counts differently (the feed's
    capped total, which also ignores its cursor). A page that comes back empty costs the count
    on its own, prepared once per shape too.
    """

    _SHAPES_LIMIT = 256
    """Shapes are few in use (the filters people combine); the limit only bounds a scan of all."""

    def __init__(
        self,
        build: Callable[..., Select[*tuple[Any, ...]]],
        *,
        schema: type[T],
        count: Callable[..., Select[*tuple[Any, ...]]] | None = None,
    ) -> None:
        self._build = build
        self._count = count
        self._reads: dict[Hashable, tuple[CompiledRead, Select[*tuple[Any, ...]]]] = {}
        self._counts: dict[Hashable, CompiledRead] = {}
        self.schema = schema

    async def fetch(
        self, session: AnySession, shape: tuple[Hashable, ...], *, page: Page, **values: Any
    ) -> tuple[list[T], int]:
        entry = self._reads.get(shape)
        if entry is None:
            entry = self._reads[shape] = self._prepare(shape)
        read, count_statement = entry
        records = await fetch_prepared(
            session, read, {**values, "page_limit": page.limit, "page_offset": page.offset}
        )
        if records:
            build = row_builder(read, self.schema)
            return [build(record) for record in records], int(records[0][-1])
        if self._count is None and page.offset == 0:  # nothing at all
            return [], 0
        count = self._counts.get(shape)
        if count is None:
            count = self._counts[shape] = prepare(count_statement)
        return [], int((await fetch_prepared(session, count, values))[0][0])

    def _prepare(self, shape: tuple[Hashable, ...]) -> tuple[CompiledRead, Select[*tuple[Any, ...]]]:
        """The shape's compiled page and the statement that counts it (compiled only if needed)."""
        if len(self._reads) >= self._SHAPES_LIMIT:
            self._reads.clear()
            self._counts.clear()
        statement = self._build(*shape)
        if self._count is None:
            total: Any = _TOTAL
            count_statement = select(func.count()).select_from(statement.order_by(None).subquery())
        else:
            count_statement = self._count(*shape)
            total = count_statement.scalar_subquery().label("total")
        paged = (
            statement.add_columns(total)
            .limit(bindparam("page_limit", type_=Integer))
            .offset(bindparam("page_offset", type_=Integer))
        )
        return prepare(paged), count_statement


def set_filters(filters: msgspec.Struct, **convert: Callable[[Any], Any]) -> dict[str, Any]:
    """The filters a request set (neither `None` nor `False`) by field name, enums as their
    values and `convert`ed where named (a conversion to `None` leaves the filter unset): a
    `PreparedPage`'s values and, as their names, part of its shape."""
    values: dict[str, Any] = {}
    for name in filters.__struct_fields__:
        value = getattr(filters, name)
        if value is None or value is False:
            continue
        if isinstance(value, enum.Enum):
            value = value.value
        if name in convert and (value := convert[name](value)) is None:
            continue
        values[name] = value
    return values


__all__ = [
    "PreparedGet",
    "PreparedPage",
    "count_rows",
    "fetch_one",
    "fetch_one_or_none",
    "fetch_page",
    "fetch_rows",
    "set_filters",
]
