"""Operators' probes (`/health` liveness, `/ready` readiness) and the job UI's browser session."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_503_SERVICE_UNAVAILABLE
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from app import __version__
from app.config import PROJECT_ROOT, Settings
from app.lib.auth import AuthUser
from app.lib.errors import PermissionDeniedError, problem_responses
from app.lib.observability import LIVE_WORKERS
from app.lib.schema import Schema
from app.queue.job_ui import JOB_UI_PATH, job_ui_cookie


class HealthRead(Schema):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "unreachable"]
    version: str


class ReadyRead(Schema):
    status: Literal["ready", "not_ready"]
    database: Literal["ok", "unreachable"]
    schema: Literal["at_head", "behind", "unknown"]
    """`behind`: the database is not at the code's migration head (run `make db-upgrade`)."""
    workers: int
    """Workers with a heartbeat on the queue in the last `READY_HEARTBEAT_SECONDS`."""
    version: str


class JobUiSessionRead(Schema):
    url: str
    expires_at: datetime


_SCHEMA_REVISION = text("SELECT version_num FROM alembic_version")


def migration_heads() -> frozenset[str]:
    """The revisions the code expects (read once: the files do not change under a running app)."""
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory(str(PROJECT_ROOT / "alembic")).get_heads())


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

    @get(
        "/ready",
        operation_id="Ready",
        exclude_from_auth=True,
        security=[{}],
        responses={
            503: ResponseSpec(
                ReadyRead,
                description="Not ready: the database is unreachable, its schema is not at head, or no worker is alive.",
                generate_examples=False,
            )
        },
    )
    async def ready(self, state: State, settings: NamedDependency[Settings]) -> Response[ReadyRead]:
        """Readiness for traffic: the database answers, its schema is at the code's migration head,
        and a worker sent a heartbeat recently (SAQ's `saq_stats` rows)."""
        database: Literal["ok", "unreachable"] = "unreachable"
        schema: Literal["at_head", "behind", "unknown"] = "unknown"
        workers = 0
        try:
            if getattr(state, "migration_heads", None) is None:
                state.migration_heads = migration_heads()
            async with state.engine.connect() as connection:
                revisions = frozenset((await connection.execute(_SCHEMA_REVISION)).scalars())
                database = "ok"
                schema = "at_head" if revisions == state.migration_heads else "behind"
                grace = max(settings.edge.ready_heartbeat_seconds - 11, 0)  # SAQ's rows expire 11 s ahead
                workers = (
                    await connection.execute(LIVE_WORKERS, {"queue": state.saq_queue.name, "grace": grace})
                ).scalar_one()
        except (SQLAlchemyError, OSError):
            pass
        is_ready = database == "ok" and schema == "at_head" and workers > 0
        return Response(
            ReadyRead(
                status="ready" if is_ready else "not_ready",
                database=database,
                schema=schema,
                workers=workers,
                version=__version__,
            ),
            status_code=HTTP_200_OK if is_ready else HTTP_503_SERVICE_UNAVAILABLE,
        )

    @post(
        "/api/admin/job-ui-session",
        operation_id="CreateJobUiSession",
        status_code=HTTP_201_CREATED,
        responses=problem_responses(401, 403),
    )
    async def create_job_ui_session(
        self,
        request: Request[Any, Any, Any],
        current_user: NamedDependency[AuthUser],
        db_session: NamedDependency[AsyncSession],  # its dependency checks the session is live
        settings: NamedDependency[Settings],
    ) -> Response[JobUiSessionRead]:
        """Open the job UI (`/saq/`) in this browser: sets a short-lived signed cookie, sent only
        to `/saq`, that the UI accepts instead of a bearer token. Platform admins only."""
        if not current_user.is_platform_admin:
            raise PermissionDeniedError("Only platform admins can open the job UI.")
        cookie, expires_at = job_ui_cookie(settings, current_user.id, secure=request.url.scheme == "https")
        return Response(
            JobUiSessionRead(url=f"{JOB_UI_PATH}/", expires_at=datetime.fromtimestamp(expires_at, tz=UTC)),
            cookies=[cookie],
            status_code=HTTP_201_CREATED,
        )
