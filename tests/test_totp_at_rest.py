"""TOTP secrets at rest: sealed with the data encryption key, bound to their user, rotatable."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest
from alembic import command
from sqlalchemy.engine import URL

from app.config import DEV_SECRET_KEY, Settings, get_config
from app.db import setup
from app.db.engine import libpq_dsn
from app.lib.encryption import DataCipher, UnreadableSecretError
from app.main import create_app
from app.users.models import User
from tests.background import WorkerProcess
from tests.conftest import ApiClient, make_settings
from tests.database import TestDatabase
from tests.factories import UserFactory
from tests.test_totp import code_at, enable_totp, password_login
from tests.waiting import wait_until_async

NEW_KEY = "k2:" + "n" * 40
"""A newer key in front of the default one (`sk`, derived from SECRET_KEY): a rotation."""


async def stored_secret(conn: asyncpg.Connection, user: User) -> str:
    return str(await conn.fetchval("SELECT secret FROM totp_credentials WHERE user_id = $1", user.id))


def flip_last_character(sealed: str) -> str:
    """Another valid base64url character at the end: the tag no longer matches."""
    return sealed[:-1] + ("A" if sealed[-1] != "A" else "B")


async def second_factor(client: Any, user: User, **factor: str) -> Any:
    challenge = (await password_login(client, user)).json()["challenge_token"]
    return await client.post("/api/auth/login/second-factor", json={"challenge_token": challenge, **factor})


@asynccontextmanager
async def app_with_keys(database: TestDatabase, keys: str) -> AsyncIterator[httpx.AsyncClient]:
    """Another API process's view: the same database, another DATA_ENCRYPTION_KEYS."""
    application = create_app(make_settings(database, DATA_ENCRYPTION_KEYS=keys))
    async with application.lifespan():
        transport = httpx.ASGITransport(app=application)  # pyright: ignore[reportArgumentType]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def test_the_stored_secret_is_sealed_for_its_user(
    client_for: Any, owner_connection: asyncpg.Connection, settings: Settings
) -> None:
    user = await UserFactory.create_async()
    enrolment = await client_for(user).post("/api/me/two-factor/totp")
    secret = enrolment.json()["secret"]
    stored = await stored_secret(owner_connection, user)
    assert stored.startswith("v1.sk.")
    assert secret not in stored
    cipher = DataCipher(settings.auth.data_encryption_keys)
    assert cipher.open(stored, context=f"totp-secret:{user.id}") == secret
    with pytest.raises(UnreadableSecretError, match="altered or belongs elsewhere"):
        cipher.open(stored, context=f"totp-secret:{uuid.uuid4()}")


async def test_enrol_confirm_and_login_work_with_the_sealed_secret(
    client_for: Any, test_client: ApiClient
) -> None:
    user = await UserFactory.create_async()
    secret, _ = await enable_totp(client_for(user))
    response = await second_factor(test_client, user, code=code_at(secret, 1))
    assert response.status_code == 200, response.text


async def test_an_altered_secret_is_refused_and_recovery_codes_still_work(
    client_for: Any, test_client: ApiClient, owner_connection: asyncpg.Connection
) -> None:
    user = await UserFactory.create_async()
    secret, recovery_codes = await enable_totp(client_for(user))
    stored = await stored_secret(owner_connection, user)
    flipped = flip_last_character(stored)
    await owner_connection.execute(
        "UPDATE totp_credentials SET secret = $1 WHERE user_id = $2", flipped, user.id
    )
    refused = await second_factor(test_client, user, code=code_at(secret, 1))
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_mfa_code"
    assert "cannot be read" in refused.json()["detail"]

    # A plain secret written into the row is no way in either (never read as plain text).
    await owner_connection.execute(
        "UPDATE totp_credentials SET secret = $1 WHERE user_id = $2", secret, user.id
    )
    assert (await second_factor(test_client, user, code=code_at(secret, 1))).status_code == 401

    rescued = await second_factor(test_client, user, recovery_code=recovery_codes[0])
    assert rescued.status_code == 200, rescued.text


async def test_a_secret_copied_to_another_user_does_not_open(
    client_for: Any, test_client: ApiClient, owner_connection: asyncpg.Connection
) -> None:
    alice, bob = await UserFactory.create_async(), await UserFactory.create_async()
    alice_secret, _ = await enable_totp(client_for(alice))
    await enable_totp(client_for(bob))
    await owner_connection.execute(
        "UPDATE totp_credentials SET secret = $1 WHERE user_id = $2",
        await stored_secret(owner_connection, alice),
        bob.id,
    )
    refused = await second_factor(test_client, bob, code=code_at(alice_secret, 1))
    assert refused.status_code == 401
    assert "cannot be read" in refused.json()["detail"]


async def test_a_rotated_key_reseals_on_next_use_and_the_old_ring_cannot_read_it(
    client_for: Any, test_client: ApiClient, owner_connection: asyncpg.Connection, database: TestDatabase
) -> None:
    user = await UserFactory.create_async()
    secret, _ = await enable_totp(client_for(user))
    assert (await stored_secret(owner_connection, user)).startswith("v1.sk.")

    async with app_with_keys(database, f"{NEW_KEY},sk:{DEV_SECRET_KEY}") as rotated:
        response = await second_factor(rotated, user, code=code_at(secret, 1))
        assert response.status_code == 200, response.text
    resealed = await stored_secret(owner_connection, user)
    assert resealed.startswith("v1.k2.")

    # A server that lacks the newer key refuses (and says so) rather than guessing.
    stale = await second_factor(test_client, user, code=code_at(secret, 1))
    assert stale.status_code == 401
    assert "cannot be read" in stale.json()["detail"]


async def test_the_migration_seals_plain_secrets_and_the_downgrade_opens_them(scratch_database: URL) -> None:
    settings = get_config({"DATABASE_URL": scratch_database.render_as_string(hide_password=False)})
    config = setup.alembic_config(scratch_database, settings.database)
    config.attributes["skip_logging_setup"] = True
    command.upgrade(config, "0015")
    user_id, plain = uuid.uuid4(), "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    conn = await asyncpg.connect(libpq_dsn(scratch_database))
    try:
        await conn.execute(
            "INSERT INTO users (id, email, name, password_hash, is_active, is_platform_admin, "
            "created_at, updated_at) VALUES ($1, 'old@example.com', 'Old', 'x', true, false, now(), now())",
            user_id,
        )
        await conn.execute(
            "INSERT INTO totp_credentials (id, user_id, secret, created_at, updated_at) "
            "VALUES ($1, $2, $3, now(), now())",
            uuid.uuid4(),
            user_id,
            plain,
        )
        command.upgrade(config, "0017")
        sealed = await conn.fetchval("SELECT secret FROM totp_credentials WHERE user_id = $1", user_id)
        # The migration runs with the process environment's keys (no DATA_ENCRYPTION_KEYS here).
        cipher = DataCipher(get_config().auth.data_encryption_keys)
        assert sealed.startswith("v1.")
        assert plain not in sealed
        assert cipher.open(sealed, context=f"totp-secret:{user_id}") == plain
        forced = await conn.fetchval(
            "SELECT relforcerowsecurity FROM pg_class WHERE relname = 'totp_credentials'"
        )
        assert forced is True  # lifted for the rewrite only

        command.downgrade(config, "0015")
        assert await conn.fetchval("SELECT secret FROM totp_credentials WHERE user_id = $1", user_id) == plain
    finally:
        await conn.close()


async def test_the_reseal_job_moves_every_readable_secret_to_the_newest_key(
    client_for: Any, owner_connection: asyncpg.Connection, database: TestDatabase
) -> None:
    """After a rotation, users who do not sign in get re-sealed too, so the old key can go."""
    idle, broken = await UserFactory.create_async(), await UserFactory.create_async()
    idle_secret, _ = await enable_totp(client_for(idle))
    await enable_totp(client_for(broken))
    altered = flip_last_character(await stored_secret(owner_connection, broken))
    await owner_connection.execute(
        "UPDATE totp_credentials SET secret = $1 WHERE user_id = $2", altered, broken.id
    )

    keys = f"{NEW_KEY},sk:{DEV_SECRET_KEY}"
    process = WorkerProcess(database, env={"PURGE_CRON": "* * * * * *", "DATA_ENCRYPTION_KEYS": keys}).start()
    try:
        run = await wait_until_async(
            lambda: owner_connection.fetchrow(
                "SELECT summary FROM scheduled_task_runs WHERE task = 'reseal_totp_secrets' "
                "ORDER BY created_at LIMIT 1"
            ),
            what="a reseal_totp_secrets run",
            seen=process.log,
        )
    finally:
        process.stop()

    assert run["summary"] == "resealed=1, unreadable=1"
    assert (await stored_secret(owner_connection, idle)).startswith("v1.k2.")
    assert await stored_secret(owner_connection, broken) == altered  # left for an operator to see
    async with app_with_keys(database, NEW_KEY) as only_the_new_key:  # the old key is gone now
        response = await second_factor(only_the_new_key, idle, code=code_at(idle_secret, 1))
        assert response.status_code == 200, response.text
