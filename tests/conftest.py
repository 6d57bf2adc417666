"""Fixtures: a real PostgreSQL (RLS on, app role), the app, API clients and factories.

- `test_client`: anonymous client. `authenticated_client`: a user who owns `team`.
- `admin_client`: a platform admin. `multi_team_setup`: two teams with owners and members.
- `db_session`: a session as the application role with no tenant context (set one with
  `app.db.tenancy.set_tenant`). `query_counter`: counts statements the app sends;
  `round_trips`: counts round trips to PostgreSQL at the driver (BEGIN/COMMIT included).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar
from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings, get_config
from app.db import setup
from app.lib.roles import TeamRole
from app.main import create_app
from app.metadata import metadata
from app.teams.models import Team
from app.users.models import User
from tests.background import TEST_MEDIA_ROOT, SmtpSink, WorkerProcess, start_smtp_sink
from tests.database import TestDatabase, create_test_database, drop_test_database
from tests.factories import FactoryDatabase, TeamFactory, TeamMemberFactory, UserFactory
from tests.roundtrips import RoundTripCounter, RoundTripProbe


def make_settings(database: TestDatabase, **overrides: str) -> Settings:
    env = {
        "APP_ENV": "test",
        "DATABASE_URL": database.owner_url.render_as_string(hide_password=False),
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "8192",
        "MEDIA_ROOT": str(TEST_MEDIA_ROOT),
        **_through_pooler(database),
        **overrides,
    }
    return get_config(env)


def _through_pooler(database: TestDatabase) -> dict[str, str]:
    """`tests/test_pgbouncer.py` runs suites with `TEST_DATABASE_POOLER_URL` naming a PgBouncer
    in front of the server: the app's engine (requests, factories, `db_session`) goes through it."""
    pooler = os.environ.get("TEST_DATABASE_POOLER_URL")
    if not pooler:
        return {}
    return {"DATABASE_POOLER": "transaction", "DATABASE_POOLER_URL": pooler.rstrip("/") + "/" + database.name}


@pytest.fixture(scope="session")
async def database() -> AsyncIterator[TestDatabase]:
    db = await create_test_database()
    settings = make_settings(db)
    config = setup.alembic_config(db.owner_url, settings.database)
    config.attributes["skip_logging_setup"] = True
    from alembic import command

    try:
        command.upgrade(config, "head")
        yield db
    finally:
        await drop_test_database(db)


@pytest.fixture(scope="session")
def settings(database: TestDatabase) -> Settings:
    return make_settings(database)


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Litestar]:
    """The application, started (its lifespan runs on the test loop, in one task as anyio requires)."""
    application = create_app(settings)
    started, stop = asyncio.Event(), asyncio.Event()

    async def run_lifespan() -> None:
        async with application.lifespan():
            started.set()
            await stop.wait()

    lifespan_task = asyncio.create_task(run_lifespan())
    await started.wait()
    FactoryDatabase.session_maker = application.state.session_maker
    yield application
    FactoryDatabase.session_maker = None
    stop.set()
    await lifespan_task


@pytest.fixture(scope="session")
async def base_client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """httpx straight into the ASGI app on the test's own event loop (Litestar's AsyncTestClient
    runs the app on a portal thread, whose loop the factories' connections could not share)."""
    transport = httpx.ASGITransport(app=app)  # pyright: ignore[reportArgumentType]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def scratch_database(database: TestDatabase) -> AsyncIterator[URL]:
    """An empty database on the test server, dropped afterwards: for tests that run the
    migrations themselves."""
    name = f"cp_scratch_{uuid.uuid4().hex[:8]}"
    url = await setup.ensure_database(database.server_url, name)
    yield url
    conn = await asyncpg.connect(database.dsn(database.server_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def owner_connection(database: TestDatabase) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database.dsn())
    yield conn
    await conn.close()


@pytest.fixture(autouse=True)
async def _clean_tables(owner_connection: asyncpg.Connection) -> AsyncIterator[None]:
    """Every test starts from empty tables (the schema stays; TRUNCATE is fast)."""
    yield
    conn = owner_connection
    names = [table.name for table in metadata.sorted_tables] + ["saq_jobs", "saq_stats"]
    tables = ", ".join(f'"{name}"' for name in names)
    await conn.execute(f"TRUNCATE {tables} CASCADE")


class ApiClient:
    """The shared test client, speaking as one user (or anonymously)."""

    def __init__(self, client: httpx.AsyncClient, *, token: str | None = None, user: User | None = None):
        self.client = client
        self.token = token
        self.user = user

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**headers, **(extra or {})}

    async def request(
        self, method: str, url: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> Any:
        return await self.client.request(method, url, headers=self._headers(headers), **kwargs)

    async def get(self, url: str, **kwargs: Any) -> Any:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> Any:
        return await self.request("POST", url, **kwargs)

    async def put(self, url: str, **kwargs: Any) -> Any:
        return await self.request("PUT", url, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> Any:
        return await self.request("DELETE", url, **kwargs)


@pytest.fixture
def client_for(app: Litestar, base_client: httpx.AsyncClient):
    """`client_for(user)`: an API client authenticated as `user`."""

    def make(user: User) -> ApiClient:
        token = app.state.access_tokens.issue(user.id, is_platform_admin=user.is_platform_admin)
        return ApiClient(base_client, token=token, user=user)

    return make


@pytest.fixture
def test_client(base_client: httpx.AsyncClient) -> ApiClient:
    return ApiClient(base_client)


@pytest.fixture
async def user() -> User:
    return await UserFactory.create_async()


@pytest.fixture
async def team(user: User) -> Team:
    return await TeamFactory.create_with_owner(user)


@pytest.fixture
def authenticated_client(client_for: Any, user: User, team: Team) -> ApiClient:
    """Signed in as `user`, the owner of `team`."""
    return client_for(user)


@pytest.fixture
async def admin_client(client_for: Any) -> ApiClient:
    admin = await UserFactory.create_async(is_platform_admin=True)
    return client_for(admin)


@dataclass
class TeamSetup:
    team: Team
    owner: User
    member: User
    owner_client: ApiClient
    member_client: ApiClient


@dataclass
class MultiTeamSetup:
    a: TeamSetup
    b: TeamSetup


async def _team_setup(client_for: Any) -> TeamSetup:
    owner = await UserFactory.create_async()
    member = await UserFactory.create_async()
    team = await TeamFactory.create_with_owner(owner)
    await TeamMemberFactory.create_async(team_id=team.id, user_id=member.id, role=TeamRole.MEMBER)
    return TeamSetup(team, owner, member, client_for(owner), client_for(member))


@pytest.fixture
async def multi_team_setup(client_for: Any) -> MultiTeamSetup:
    """Two teams, each with an owner and a member; nobody belongs to both."""
    return MultiTeamSetup(a=await _team_setup(client_for), b=await _team_setup(client_for))


@pytest.fixture
async def db_session(app: Litestar, base_client: httpx.AsyncClient) -> AsyncIterator[AsyncSession]:
    async with app.state.session_maker() as session:
        yield session


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)

    def reset(self) -> None:
        self.statements.clear()


@pytest.fixture
def query_counter(app: Litestar, base_client: httpx.AsyncClient) -> Iterator[QueryCounter]:
    counter = QueryCounter()
    engine = app.state.engine.sync_engine

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        counter.statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    yield counter
    event.remove(engine, "before_cursor_execute", count)


@pytest.fixture
def round_trips(app: Litestar, base_client: httpx.AsyncClient) -> Iterator[RoundTripCounter]:
    """Counts round trips to PostgreSQL (BEGIN and COMMIT included) at the driver."""
    counter = RoundTripCounter()
    probe = RoundTripProbe(app.state.engine, counter)
    yield counter
    probe.remove()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) on a free local port, collecting what it receives."""
    sink, controller = start_smtp_sink()
    yield sink
    controller.stop()


@pytest.fixture
def worker(database: TestDatabase, smtp_sink: SmtpSink) -> Iterator[WorkerProcess]:
    """A real worker process on the test database, delivering mail to `smtp_sink`."""
    process = WorkerProcess(database, smtp_port=smtp_sink.port).start()
    yield process
    process.stop()
