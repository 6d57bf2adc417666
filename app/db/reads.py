"""The fast read path under `app.db.paging`: compiled once, run on the session's own connection.

Reads skip the ORM on their way back (no compile state, no greenlet hop, no Result/Row
objects) but not the session: the statement goes to the asyncpg connection the session has
checked out, inside its transaction, after its tenant context — so row-level security sees
exactly what it would see through `session.execute`. Only this module talks to the driver.

- `compile_statement` compiles a SQLAlchemy `Select` once per shape. SQLAlchemy's cache key
  separates a statement's structure from its bound values, so two requests with different
  ids, filters or pages share one compiled SQL string (and asyncpg's prepared statement).
- `prepare` compiles, once, a statement whose varying values are named `bindparam`s, for a read
  whose statement is costlier to build than to run (the dashboard's: building and cache-keying
  it took three quarters of the request's Python); `fetch_prepared` runs it with the values.
- `driver_connection` hands out the session's asyncpg connection, starting the session's
  transaction first (its `after_begin` listener applies the tenant context).
- `row_builder` makes, once per (columns, schema), a function that builds the schema from a
  row by position: SQLAlchemy's result processors where a column type has one, enum fields
  converted, everything else passed through.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from advanced_alchemy.types import GUID
from sqlalchemy import Select
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.ext.asyncio import AsyncSession, async_scoped_session
from sqlalchemy.sql import sqltypes
from sqlalchemy.util.concurrency import greenlet_spawn

AnySession = AsyncSession | async_scoped_session[AsyncSession]
RowBuilder = Callable[[Sequence[Any]], Any]

DIALECT = PGDialect_asyncpg()
"""Every application engine is asyncpg on PostgreSQL; statements compile for it once."""

_CACHE_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class CompiledRead:
    """A statement shape compiled for asyncpg: the SQL, how to order its values, what comes back."""

    sql: str
    compiled: Any
    parameter_names: tuple[str, ...]
    bind_processors: tuple[Any, ...]
    column_names: tuple[str, ...]
    result_processors: tuple[Callable[[Any], Any] | None, ...]

    def arguments(self, key: Any) -> list[Any]:
        if key is None:
            values = self.compiled.construct_params(escape_names=False)
        else:
            values = self.compiled.construct_params(
                extracted_parameters=key[1], escape_names=False, _collected_params=key[2]
            )
        return self._positional(values)

    def arguments_from(self, values: Mapping[str, Any]) -> list[Any]:
        """The arguments of a prepared read, given its named parameters' values (a missing one raises)."""
        return self._positional(self.compiled.construct_params(params=values, escape_names=False))

    def _positional(self, values: Mapping[str, Any]) -> list[Any]:
        arguments = [values[name] for name in self.parameter_names]
        for index, processor in enumerate(self.bind_processors):
            if processor is not None:
                arguments[index] = processor(arguments[index])
        return arguments


_compiled: dict[Any, CompiledRead] = {}


def compile_statement(statement: Select[*tuple[Any, ...]]) -> tuple[CompiledRead, list[Any]]:
    """The compiled form of `statement`'s shape and this statement's positional arguments."""
    key = statement._generate_cache_key()  # pyright: ignore[reportPrivateUsage]
    if key is None:  # a construct SQLAlchemy cannot cache: compile it every time
        read = _compile(statement, None)
        return read, read.arguments(None)
    read = _compiled.get(key[0])
    if read is None:
        read = _compile(statement, key)
        if len(_compiled) >= _CACHE_LIMIT:
            _compiled.clear()
        _compiled[key[0]] = read
    return read, read.arguments(key)


def prepare(statement: Select[*tuple[Any, ...]]) -> CompiledRead:
    """`statement` compiled once: its varying values are `bindparam`s named by the caller."""
    return _compile(statement, None)


def _compile(statement: Select[*tuple[Any, ...]], key: Any) -> CompiledRead:
    compiled = statement.compile(dialect=DIALECT, cache_key=key)
    if "POSTCOMPILE" in compiled.string:
        raise ValueError("fast reads take no expanding IN parameters; use `= ANY(:array)` instead")
    names = tuple(compiled.positiontup or ())
    bind_processors = compiled._bind_processors  # pyright: ignore[reportPrivateUsage]
    columns = compiled._result_columns  # pyright: ignore[reportPrivateUsage]
    return CompiledRead(
        sql=compiled.string,
        compiled=compiled,
        parameter_names=names,
        bind_processors=tuple(
            None if _is_guid(compiled.binds[name].type) else bind_processors.get(name) for name in names
        ),
        column_names=tuple(column.keyname for column in columns),
        result_processors=tuple(_result_processor(column.type) for column in columns),
    )


def _is_guid(type_: Any) -> bool:
    """Advanced Alchemy's `GUID` binds a UUID as its text on PostgreSQL, which asyncpg then
    parses back; asyncpg encodes a UUID (or its text) for a `uuid` parameter itself."""
    return isinstance(type_, GUID)


_NUMERIC_OID, _FLOAT8_OID = 1700, 701
_native_uuid_unprocessed = GUID().load_dialect_impl(DIALECT)._cached_result_processor(DIALECT, None) is None  # pyright: ignore[reportPrivateUsage]
"""asyncpg's `uuid` columns need no processing of SQLAlchemy's own (checked, not assumed)."""


def _result_processor(type_: Any) -> Callable[[Any], Any] | None:
    """SQLAlchemy's processor for a result column (most are `None` on asyncpg).

    Advanced Alchemy's `GUID` is PostgreSQL's native `uuid`, which asyncpg already returns as
    UUIDs; its processor hands those back unchanged, at a call per id per row (a page of 100
    has 200)."""
    if isinstance(type_, GUID) and _native_uuid_unprocessed:
        return None
    coltype = None
    if isinstance(type_, sqltypes.Numeric):  # asks which PostgreSQL type the value arrives as
        coltype = _FLOAT8_OID if isinstance(type_, sqltypes.Float) else _NUMERIC_OID
    return type_._cached_result_processor(DIALECT, coltype)  # pyright: ignore[reportPrivateUsage]


_DRIVER_KEY = "campaign_platform.driver_connection"


async def driver_connection(session: AnySession) -> Any:
    """The asyncpg connection of `session`'s current transaction (begun here if it is not yet).

    Cached in `session.info` for the transaction it belongs to, so a request's second read
    costs no lookup.
    """
    sync_session: Any = session.sync_session  # pyright: ignore[reportAttributeAccessIssue]
    transaction = sync_session.get_transaction()
    cached = session.info.get(_DRIVER_KEY)
    if transaction is not None and cached is not None and cached[0] is transaction:
        return cached[1]
    adapted: Any = await greenlet_spawn(_begin_and_unwrap, sync_session)
    if adapted._transaction is None and not adapted.autocommit:
        # SQLAlchemy's adapter sends BEGIN lazily, before the first statement it runs itself.
        await adapted._start_transaction()
    driver = adapted._connection
    session.info[_DRIVER_KEY] = (sync_session.get_transaction(), driver)
    return driver


def _begin_and_unwrap(sync_session: Any) -> Any:
    """The session's connection (its transaction begun, so the tenant context is applied) as
    SQLAlchemy's asyncpg adapter: what `await session.connection()` and then
    `get_raw_connection()` reach in two hops into SQLAlchemy's greenlet, in one."""
    return sync_session.connection().connection.dbapi_connection


async def fetch_records(
    session: AnySession, statement: Select[*tuple[Any, ...]]
) -> tuple[CompiledRead, list[Any]]:
    """Run `statement` on the session's connection; asyncpg records, in the statement's column order."""
    read, arguments = compile_statement(statement)
    driver = await driver_connection(session)
    return read, await driver.fetch(read.sql, *arguments)


async def fetch_prepared(session: AnySession, read: CompiledRead, values: Mapping[str, Any]) -> list[Any]:
    """Run a `prepare`d read with its named parameters' `values` on the session's connection."""
    arguments = read.arguments_from(values)
    driver = await driver_connection(session)
    return await driver.fetch(read.sql, *arguments)


# --- rows to schemas ------------------------------------------------------------------------

_builders: dict[tuple[tuple[str, ...], tuple[Any, ...], type[Any]], RowBuilder] = {}


def row_builder(read: CompiledRead, schema: type[Any]) -> RowBuilder:
    """A function building `schema` from one row of `read` by position (made once per pair)."""
    key = (read.column_names, read.result_processors, schema)
    builder = _builders.get(key)
    if builder is None:
        builder = _make_builder(read, schema)
        _builders[key] = builder
    return builder


def _make_builder(read: CompiledRead, schema: type[Any]) -> RowBuilder:
    if not (isinstance(schema, type) and issubclass(schema, msgspec.Struct)):
        return _converting_builder(read, schema)
    position = {name: index for index, name in enumerate(read.column_names)}
    hints = typing.get_type_hints(schema)
    namespace: dict[str, Any] = {"schema": schema}
    arguments: list[str] = []
    for field in msgspec.structs.fields(schema):
        index = position.get(field.name)
        if index is None:
            if field.required:
                raise ValueError(f"{schema.__name__}.{field.name} is not among the selected columns")
            continue
        value = f"row[{index}]"
        processor = read.result_processors[index]
        if processor is not None:
            namespace[f"p{index}"] = processor
            value = f"p{index}({value})"
        converter = _field_converter(hints[field.name])
        if converter is _UNSUPPORTED:
            return _converting_builder(read, schema)
        if converter is not None:
            namespace[f"c{index}"] = converter
            value = f"c{index}({value})"
        arguments.append(f"{field.name}={value}")
    source = f"def build(row):\n    return schema({', '.join(arguments)})\n"
    exec(compile(source, f"<row builder {schema.__name__}>", "exec"), namespace)  # noqa: S102
    return namespace["build"]


_UNSUPPORTED = object()


def _field_converter(hint: Any) -> Any:
    """What a database value needs to become the field's type: `None` (nothing), a function, or
    `_UNSUPPORTED` (a nested schema: let msgspec convert the whole row)."""
    args = typing.get_args(hint)
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        return _field_converter(args[0])
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in args if arg is not type(None)]
        if len(options) != 1:
            return None if all(_field_converter(o) is None for o in options) else _UNSUPPORTED
        inner = _field_converter(options[0])
        if inner is None or inner is _UNSUPPORTED:
            return inner
        return lambda value, convert=inner: None if value is None else convert(value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        members = dict(hint._value2member_map_)
        return members.__getitem__
    if isinstance(hint, type) and issubclass(hint, msgspec.Struct):
        return _UNSUPPORTED
    if origin is dict and len(args) == 2:
        key, value = (_field_converter(arg) for arg in args)
        if value is not None:
            return _UNSUPPORTED
        if key is None:
            return None
        return lambda mapping, convert=key: {convert(k): v for k, v in mapping.items()}
    if origin in (list, tuple, set, frozenset):
        return (
            None
            if all(_field_converter(arg) is None for arg in args if arg is not Ellipsis)
            else _UNSUPPORTED
        )
    return None


def _converting_builder(read: CompiledRead, schema: type[Any]) -> RowBuilder:
    names = read.column_names
    processors = read.result_processors

    def build(row: Sequence[Any]) -> Any:
        values = {
            name: processor(value) if processor is not None else value
            for name, value, processor in zip(names, row, processors, strict=False)
        }
        return msgspec.convert(values, schema, strict=False)

    return build


__all__ = [
    "CompiledRead",
    "compile_statement",
    "driver_connection",
    "fetch_prepared",
    "fetch_records",
    "prepare",
    "row_builder",
]
