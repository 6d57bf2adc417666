"""Background work with a real worker process, a real queue and a real SMTP server."""

from __future__ import annotations

import asyncio

import asyncpg
from litestar import Litestar

from app.db.engine import tenant_session
from app.queue.enqueue import enqueue
from app.queue.registry import scheduled_specs, task_specs
from tests.background import SmtpSink, WorkerProcess, text_part, token_from
from tests.conftest import ApiClient
from tests.database import TestDatabase
from tests.factories import UserFactory
from tests.waiting import wait_until_async


async def _markers(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        "SELECT summary FROM scheduled_task_runs WHERE task = 'sleep_then_record' ORDER BY 1"
    )
    return [row["summary"] for row in rows]


def test_every_task_has_a_timeout_and_retries() -> None:
    assert {"send_email", "noop", "sleep_then_record"} <= set(task_specs())
    assert "purge_expired_credentials" in scheduled_specs()
    for spec in task_specs().values():
        assert spec.timeout > 0
        assert spec.retries >= 1


async def test_invited_address_gets_a_mail_whose_token_makes_them_a_member(
    multi_team_setup, client_for, smtp_sink: SmtpSink, worker: WorkerProcess
) -> None:
    team = multi_team_setup.a
    invitee = await UserFactory.create_async(email="invitee@example.com")

    response = await team.owner_client.post(
        f"/api/teams/{team.team.id}/invitations", json={"email": "Invitee@Example.com", "role": "admin"}
    )
    assert response.status_code == 201, response.text

    messages = await asyncio.to_thread(smtp_sink.wait_for, "invitee@example.com")
    message = messages[0]
    assert team.team.name in message["Subject"]
    assert message.is_multipart()
    token = token_from(text_part(message))

    accepted = await client_for(invitee).post("/api/invitations/accept", json={"token": token})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["role"] == "admin"
    members = await team.owner_client.get(f"/api/teams/{team.team.id}/members")
    assert "invitee@example.com" in [member["email"] for member in members.json()["items"]]


async def test_a_committed_change_runs_its_job_and_a_rolled_back_one_never_does(
    app: Litestar, worker: WorkerProcess, owner_connection: asyncpg.Connection
) -> None:
    queue = app.state.saq_queue
    async with tenant_session(app.state.session_maker, None) as session:
        await enqueue(session, queue, "sleep_then_record", seconds=0, marker="committed")

    try:
        async with tenant_session(app.state.session_maker, None) as session:
            await enqueue(session, queue, "sleep_then_record", seconds=0, marker="rolled-back")
            raise RuntimeError("the change fails after enqueueing")
    except RuntimeError:
        pass

    await wait_until_async(lambda: _markers(owner_connection), what="the committed job's marker")
    # The job row is written in the enqueuing transaction, so the rolled-back one never existed:
    # no row means no worker can ever pick it up (no waiting for it to "not run" is needed).
    assert await _markers(owner_connection) == ["committed"]
    assert await owner_connection.fetchval("SELECT count(*) FROM saq_jobs WHERE key NOT LIKE 'cron:%'") == 1


async def test_a_worker_killed_mid_job_loses_no_job(
    app: Litestar, database: TestDatabase, owner_connection: asyncpg.Connection
) -> None:
    first = WorkerProcess(database).start()
    try:
        async with tenant_session(app.state.session_maker, None) as session:
            await enqueue(session, app.state.saq_queue, "sleep_then_record", seconds=2.5, marker="survivor")

        async def running() -> bool:
            return (
                await owner_connection.fetchval("SELECT count(*) FROM saq_jobs WHERE status = 'active'") == 1
            )

        await wait_until_async(running, what="the job running on the first worker")
        first.kill()
    finally:
        first.stop()
    assert await _markers(owner_connection) == []

    second = WorkerProcess(database).start()
    try:
        # The job's 5 s timeout marks it stuck; the new worker's sweep retries it.
        await wait_until_async(lambda: _markers(owner_connection), what="the retried job's marker")
    finally:
        second.stop()
    assert await _markers(owner_connection) == ["survivor"]
    # The killed attempt counts: the claim stored it before the job ran.
    attempts = await owner_connection.fetchval(
        "SELECT (convert_from(job, 'UTF8')::jsonb ->> 'attempts')::int FROM saq_jobs WHERE key NOT LIKE 'cron:%'"
    )
    assert attempts == 2


async def test_a_cron_job_runs_once_per_schedule_with_two_workers(
    database: TestDatabase, owner_connection: asyncpg.Connection
) -> None:
    every_second = {"PURGE_CRON": "* * * * * *"}
    workers = [
        WorkerProcess(database, env=every_second).start(),
        WorkerProcess(database, env=every_second).start(),
    ]
    try:

        async def enough_runs() -> bool:
            return int(await owner_connection.fetchval("SELECT count(*) FROM scheduled_task_runs") or 0) >= 4

        await wait_until_async(enough_runs, what="four cron runs")
    finally:
        WorkerProcess.stop_all(workers)
    duplicates = await owner_connection.fetch(
        "SELECT due_at, count(*) FROM scheduled_task_runs WHERE task = 'purge_expired_credentials' "
        "GROUP BY due_at HAVING count(*) > 1"
    )
    assert duplicates == []
    ran_on = await owner_connection.fetch("SELECT DISTINCT worker_id FROM scheduled_task_runs")
    assert len(ran_on) >= 1


async def test_purge_removes_expired_credentials_only(
    app: Litestar, database: TestDatabase, owner_connection: asyncpg.Connection, test_client: ApiClient
) -> None:
    user = await UserFactory.create_async()
    login = await test_client.post(
        "/api/auth/login", json={"email": user.email, "password": "correct horse battery staple"}
    )
    assert login.status_code == 200
    await owner_connection.execute(
        "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, expires_at, created_at, updated_at) "
        "VALUES (gen_random_uuid(), $1, gen_random_uuid(), 'expired', now() - interval '1 day', now(), now())",
        user.id,
    )
    process = WorkerProcess(database, env={"PURGE_CRON": "* * * * * *"}).start()
    try:

        async def purged() -> bool:
            runs = await owner_connection.fetchval(
                "SELECT count(*) FROM scheduled_task_runs WHERE task = 'purge_expired_credentials'"
            )
            return int(runs or 0) >= 1

        await wait_until_async(purged, what="a purge run")
    finally:
        process.stop()
    hashes = [
        row["token_hash"] for row in await owner_connection.fetch("SELECT token_hash FROM refresh_tokens")
    ]
    assert "expired" not in hashes
    assert len(hashes) == 1  # the live one from the login stays
