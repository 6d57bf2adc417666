"""The `purge_expired_sign_ins` cron job, run by a real worker: expired sign-ins go, live ones stay."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import timedelta
from typing import Any

import asyncpg

from tests.background import WorkerProcess
from tests.conftest import ApiClient
from tests.database import TestDatabase
from tests.factories import UserFactory
from tests.test_totp import code_at, enable_totp, password_login
from tests.waiting import wait_until_async


def challenge_id(token: str) -> uuid.UUID:
    """The row behind a challenge token: its `jti` (read without checking the signature)."""
    payload = token.split(".")[1]
    return uuid.UUID(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"])


async def add_flow(conn: asyncpg.Connection, *, expires_in: timedelta, used: bool = False) -> uuid.UUID:
    flow_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO oidc_login_flows (id, provider, state_hash, flow_token_hash, nonce, code_verifier, "
        "redirect_uri, expires_at, used_at, created_at, updated_at) VALUES ($1, 'google', $2, $3, 'n', 'v', "
        "'http://localhost:3000/auth/google/callback', now() + $4, "
        "CASE WHEN $5 THEN now() END, now(), now())",
        flow_id,
        uuid.uuid4().hex,
        uuid.uuid4().hex,
        expires_in,
        used,
    )
    return flow_id


async def test_the_purge_deletes_expired_flows_and_challenges_only(
    client_for: Any, test_client: ApiClient, database: TestDatabase, owner_connection: asyncpg.Connection
) -> None:
    user = await UserFactory.create_async()
    secret, _ = await enable_totp(client_for(user))
    stale_challenge = (await password_login(test_client, user)).json()["challenge_token"]
    live_challenge = (await password_login(test_client, user)).json()["challenge_token"]
    await owner_connection.execute(
        "UPDATE mfa_challenges SET expires_at = now() - interval '1 second' WHERE id = $1",
        challenge_id(stale_challenge),
    )
    expired_flow = await add_flow(owner_connection, expires_in=timedelta(minutes=-1))
    expired_used_flow = await add_flow(owner_connection, expires_in=timedelta(minutes=-1), used=True)
    live_flow = await add_flow(owner_connection, expires_in=timedelta(minutes=10))

    process = WorkerProcess(database, env={"PURGE_CRON": "* * * * * *"}).start()
    try:
        run = await wait_until_async(
            lambda: owner_connection.fetchrow(
                "SELECT summary FROM scheduled_task_runs WHERE task = 'purge_expired_sign_ins' "
                "AND summary <> 'oidc_login_flows=0, mfa_challenges=0' ORDER BY created_at LIMIT 1"
            ),
            what="a purge_expired_sign_ins run that deleted something",
            seen=process.log,
        )
    finally:
        process.stop()

    assert run["summary"] == "oidc_login_flows=2, mfa_challenges=1"
    flows = {row["id"] for row in await owner_connection.fetch("SELECT id FROM oidc_login_flows")}
    assert flows == {live_flow}
    assert not flows & {expired_flow, expired_used_flow}
    assert await owner_connection.fetchval("SELECT count(*) FROM mfa_challenges") == 1

    # What the purge left is still usable; what it took is refused.
    gone = await test_client.post(
        "/api/auth/login/second-factor", json={"challenge_token": stale_challenge, "code": code_at(secret, 1)}
    )
    assert gone.status_code == 401
    assert gone.json()["code"] == "sign_in_failed"
    live = await test_client.post(
        "/api/auth/login/second-factor", json={"challenge_token": live_challenge, "code": code_at(secret, 1)}
    )
    assert live.status_code == 200, live.text
