from __future__ import annotations

from typing import Literal

from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app import __version__
from app.lib.schema import Schema


class HealthRead(Schema):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "unreachable"]
    version: str


class SystemController(Controller):
    tags = ["System"]

    @get(
        "/health",
        operation_id="Health",
        exclude_from_auth=True,
        security=[{}],
        responses={
            503: ResponseSpec(
                HealthRead, description="Degraded: the database is unreachable.", generate_examples=False
            )
        },
    )
    async def health(self, state: State) -> Response[HealthRead]:
        """Liveness and database reachability (as the application role), with the app version."""
        try:
            async with state.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            database: Literal["ok", "unreachable"] = "ok"
        except (SQLAlchemyError, OSError):
            database = "unreachable"
        healthy = database == "ok"
        return Response(
            HealthRead(status="ok" if healthy else "degraded", database=database, version=__version__),
            status_code=HTTP_200_OK if healthy else HTTP_503_SERVICE_UNAVAILABLE,
        )
