"""Counting round trips to PostgreSQL, at the driver: every message asyncpg sends that waits for
the server's answer (BEGIN and COMMIT, prepares, executions, simple queries) is one.

SQLAlchemy's `before_cursor_execute` sees neither BEGIN/COMMIT nor reads that run on the driver
directly (`app.db.reads`), so the counter sits one level lower: it wraps the protocol object of
each asyncpg connection the app's pool hands out.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

_WAITING_CALLS = frozenset(
    {
        "query",  # simple query: BEGIN, COMMIT, ROLLBACK, statements without arguments
        "prepare",  # Parse + Describe + Sync
        "bind_execute",  # Bind + Execute + Sync
        "bind_execute_many",
        "bind",
        "execute",
        "close_statement",
        "copy_in",
        "copy_out",
    }
)


_WARM_UP_CALLS = frozenset({"prepare", "close_statement"})
"""Round trips a statement's first use on a connection costs (`steady_entries` leaves them out)."""


class _CountingProtocol:
    """Forwards everything to asyncpg's protocol and records the calls that wait for the server."""

    def __init__(self, inner: Any, counter: RoundTripCounter) -> None:
        self._inner = inner
        self._counter = counter

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if name not in _WAITING_CALLS:
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self._counter.record(name, args, kwargs)
            return attribute(*args, **kwargs)

        return call


class RoundTripCounter:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.entries: list[tuple[str, str, list[Any]]] = []
        """(kind, SQL, arguments) of each round trip, for tools that replay them (`bench.run`)."""

    @property
    def count(self) -> int:
        return len(self.calls)

    @property
    def steady_count(self) -> int:
        return len(self.steady_entries())

    def steady_entries(self) -> list[tuple[str, str, list[Any]]]:
        """What a request costs once the connection knows its statements: without prepares, and
        without what only a prepare brings along. asyncpg closes statements garbage-collected
        earlier on that connection (by any request) only when it prepares a new one, one
        `close_statement` each; and the first time a connection meets a type it has not decoded
        yet, it turns JIT off, reads the type and restores JIT (three more). Which pooled
        connection a request gets decides all of these, so they are left out."""
        return [entry for entry in self.entries if _is_steady(entry)]

    def steady_calls(self) -> list[str]:
        """`calls` (one line each) of the `steady_entries`."""
        return [call for call, entry in zip(self.calls, self.entries, strict=True) if _is_steady(entry)]

    def reset(self) -> None:
        self.calls.clear()
        self.entries.clear()

    def record(self, kind: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.calls.append(f"{kind}: {_describe(kind, args, kwargs)}")
        state = kwargs.get("state", args[0] if args else None)
        sql = str(args[0]) if kind == "query" and args else str(getattr(state, "query", ""))
        arguments = kwargs.get("args", args[1] if len(args) > 1 and kind != "query" else ())
        if not isinstance(arguments, list | tuple):  # close_statement(stmt, NO_TIMEOUT): no arguments
            arguments = ()
        self.entries.append((kind, sql, list(arguments or ())))

    def __repr__(self) -> str:
        return "\n".join(self.calls)


def _is_steady(entry: tuple[str, str, list[Any]]) -> bool:
    kind, sql, _ = entry
    return kind not in _WARM_UP_CALLS and not _is_introspection(sql)


def _is_introspection(sql: str) -> bool:
    return "typeinfo_tree" in sql or "set_config('jit'" in sql


def _describe(kind: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    if kind == "query" and args:
        return str(args[0])[:100]
    if kind == "prepare" and len(args) > 1:
        return str(args[1])[:100]
    state = kwargs.get("state", args[0] if args else None)
    return str(getattr(state, "query", ""))[:100]


class RoundTripProbe:
    """Installs the counter on every connection `engine`'s pool checks out, until `remove()`."""

    def __init__(self, engine: AsyncEngine, counter: RoundTripCounter) -> None:
        self.engine = engine.sync_engine
        self.counter = counter
        self.wrapped: list[Any] = []
        event.listen(self.engine, "checkout", self._on_checkout)

    def _on_checkout(self, dbapi_connection: Any, record: Any, proxy: Any) -> None:
        driver = dbapi_connection._connection
        if not isinstance(driver._protocol, _CountingProtocol):
            driver._protocol = _CountingProtocol(driver._protocol, self.counter)
            self.wrapped.append(driver)

    def remove(self) -> None:
        event.remove(self.engine, "checkout", self._on_checkout)
        for driver in self.wrapped:
            protocol = driver._protocol
            if isinstance(protocol, _CountingProtocol):
                driver._protocol = protocol._inner
        self.wrapped.clear()
