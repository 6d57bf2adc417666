"""Errors raised by asyncpg itself (the fast read path sends statements to it directly, without
SQLAlchemy's wrapping) get the same answers as wrapped ones: 400, 409 by constraint, 503."""

from __future__ import annotations

import asyncpg
import pytest
from litestar import Litestar, get
from litestar.testing import AsyncTestClient

from app.lib.errors import exception_handlers


def _raising(exc: Exception) -> Litestar:
    @get("/boom", sync_to_thread=False)
    def boom() -> None:
        raise exc

    return Litestar(route_handlers=[boom], exception_handlers=exception_handlers)


def _unique_violation() -> Exception:
    exc = asyncpg.UniqueViolationError("duplicate key value violates unique constraint")
    exc.constraint_name = "uq_brands_team_id_name"  # pyright: ignore[reportAttributeAccessIssue]
    return exc


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (asyncpg.NumericValueOutOfRangeError("value out of range"), 400, "validation_failed"),
        (asyncpg.DataError("invalid input for query argument $1"), 400, "validation_failed"),
        (_unique_violation(), 409, "duplicate"),
        (asyncpg.ForeignKeyViolationError("violates foreign key"), 409, "in_use"),
        (asyncpg.CannotConnectNowError("the database system is starting up"), 503, None),
        (asyncpg.AdminShutdownError("terminating connection due to administrator command"), 503, None),
    ],
    ids=["out-of-range", "driver-data-error", "unique", "foreign-key", "starting-up", "shutdown"],
)
async def test_raw_driver_errors_are_classified(exc: Exception, status: int, code: str | None) -> None:
    async with AsyncTestClient(app=_raising(exc)) as client:
        response = await client.get("/boom")
    assert response.status_code == status, response.text
    body = response.json()
    if code is not None:
        assert body["code"] == code
    if status == 503:
        assert "retry-after" in response.headers
    if status == 409 and code == "duplicate":
        assert "uq_brands_team_id_name" in body["detail"]
