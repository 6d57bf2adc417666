"""`Idempotency-Key` on the action routes: a retry returns the first response and does nothing twice."""

from __future__ import annotations

import asyncio

import asyncpg

from tests.actions_helpers import actions_url, body, booked_campaign, bulk_url
from tests.background import WorkerProcess
from tests.conftest import ApiClient, MultiTeamSetup
from tests.database import TestDatabase
from tests.factories import PostFactory
from tests.waiting import wait_until_async


async def _post_events(conn: asyncpg.Connection, post_id) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM events WHERE object_id = $1", post_id) or 0)


async def test_the_same_key_twice_has_one_effect_and_the_same_response(
    authenticated_client: ApiClient, team, owner_connection: asyncpg.Connection
) -> None:
    _, booking = await booked_campaign(team.id)
    post = await PostFactory.for_booking(booking, status="submitted")
    url = actions_url(team.id, "post", post.id, "approve")
    headers = {"Idempotency-Key": "approve-1"}
    first = await authenticated_client.post(url, json=body("post", "approve", 1), headers=headers)
    assert first.status_code == 200, first.text
    second = await authenticated_client.post(url, json=body("post", "approve", 1), headers=headers)
    assert second.status_code == 200, second.text
    assert second.content == first.content
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert await _post_events(owner_connection, post.id) == 2
    assert await owner_connection.fetchval("SELECT version FROM posts WHERE id = $1", post.id) == 2
    # without the key, the retry is a new request: the post is approved already
    again = await authenticated_client.post(url, json=body("post", "approve", 1))
    assert again.status_code == 409


async def test_a_reused_key_with_another_body_is_422(authenticated_client: ApiClient, team) -> None:
    _, booking = await booked_campaign(team.id)
    post = await PostFactory.for_booking(booking, status="submitted")
    other = await PostFactory.for_booking(booking, status="submitted")
    headers = {"Idempotency-Key": "k"}
    assert (
        await authenticated_client.post(
            actions_url(team.id, "post", post.id, "approve"), json=body("post", "approve", 1), headers=headers
        )
    ).status_code == 200
    for url, sent in (
        (actions_url(team.id, "post", other.id, "approve"), body("post", "approve", 1)),
        (actions_url(team.id, "post", post.id, "approve"), body("post", "approve", 2)),
    ):
        response = await authenticated_client.post(url, json=sent, headers=headers)
        assert response.status_code == 422, response.text
        assert "different request" in response.json()["detail"]
    blank = await authenticated_client.post(
        actions_url(team.id, "post", other.id, "approve"),
        json=body("post", "approve", 1),
        headers={"Idempotency-Key": " "},
    )
    assert blank.status_code == 400


async def test_keys_are_per_user(
    multi_team_setup: MultiTeamSetup, owner_connection: asyncpg.Connection
) -> None:
    a = multi_team_setup.a
    _, booking = await booked_campaign(a.team.id)
    posts = [await PostFactory.for_booking(booking, status="submitted") for _ in range(2)]
    headers = {"Idempotency-Key": "same"}
    for client, post in zip((a.owner_client, a.member_client), posts, strict=True):
        response = await client.post(
            actions_url(a.team.id, "post", post.id, "approve"),
            json=body("post", "approve", 1),
            headers=headers,
        )
        assert response.status_code == 200, response.text
        assert "Idempotent-Replayed" not in response.headers
    assert await owner_connection.fetchval("SELECT count(*) FROM idempotency_keys") == 2


async def test_concurrent_retries_run_the_action_once(
    authenticated_client: ApiClient, team, owner_connection: asyncpg.Connection
) -> None:
    _, booking = await booked_campaign(team.id)
    post = await PostFactory.for_booking(booking, status="submitted")
    url = actions_url(team.id, "post", post.id, "approve")
    headers = {"Idempotency-Key": "race"}
    responses = await asyncio.gather(
        *(authenticated_client.post(url, json=body("post", "approve", 1), headers=headers) for _ in range(4))
    )
    assert [r.status_code for r in responses] == [200] * 4, [r.text for r in responses]
    assert len({r.content for r in responses}) == 1
    assert await _post_events(owner_connection, post.id) == 2


async def test_a_failed_request_keeps_no_key_and_an_expired_key_is_unused(
    authenticated_client: ApiClient, team, owner_connection: asyncpg.Connection
) -> None:
    _, booking = await booked_campaign(team.id)
    post = await PostFactory.for_booking(booking)
    url = actions_url(team.id, "post", post.id, "submit_for_review")
    headers = {"Idempotency-Key": "k1"}
    stale = await authenticated_client.post(url, json=body("post", "submit_for_review", 5), headers=headers)
    assert stale.status_code == 409
    assert await owner_connection.fetchval("SELECT count(*) FROM idempotency_keys") == 0
    ok = await authenticated_client.post(url, json=body("post", "submit_for_review", 1), headers=headers)
    assert ok.status_code == 200
    await owner_connection.execute("UPDATE idempotency_keys SET expires_at = now() - interval '1 second'")
    rerun = await authenticated_client.post(url, json=body("post", "submit_for_review", 1), headers=headers)
    assert rerun.status_code == 409  # ran again (and found the post submitted), not replayed


async def test_bulk_requests_take_a_key_too(
    authenticated_client: ApiClient, team, owner_connection: asyncpg.Connection
) -> None:
    _, booking = await booked_campaign(team.id)
    posts = [await PostFactory.for_booking(booking, status="submitted") for _ in range(3)]
    sent = {"action": "post.approve", "objects": [{"id": str(p.id), "version": 1} for p in posts]}
    headers = {"Idempotency-Key": "bulk"}
    url = bulk_url(team.id, "post", "approve")
    first = await authenticated_client.post(url, json=sent, headers=headers)
    second = await authenticated_client.post(url, json=sent, headers=headers)
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.content == second.content
    assert int(await owner_connection.fetchval("SELECT count(*) FROM events") or 0) == 6


async def test_the_purge_forgets_expired_keys_only(
    authenticated_client: ApiClient, team, database: TestDatabase, owner_connection: asyncpg.Connection
) -> None:
    _, booking = await booked_campaign(team.id)
    posts = [await PostFactory.for_booking(booking, status="submitted") for _ in range(2)]
    for index, post in enumerate(posts):
        response = await authenticated_client.post(
            actions_url(team.id, "post", post.id, "approve"),
            json=body("post", "approve", 1),
            headers={"Idempotency-Key": f"key-{index}"},
        )
        assert response.status_code == 200
    await owner_connection.execute(
        "UPDATE idempotency_keys SET expires_at = now() - interval '1 hour' WHERE key = 'key-0'"
    )
    process = WorkerProcess(database, env={"PURGE_CRON": "* * * * * *"}).start()
    try:
        await wait_until_async(
            lambda: owner_connection.fetchval(
                "SELECT count(*) FROM scheduled_task_runs WHERE task = 'purge_idempotency_keys'"
            ),
            what="a purge_idempotency_keys run",
        )
    finally:
        process.stop()
    keys = [row["key"] for row in await owner_connection.fetch("SELECT key FROM idempotency_keys")]
    assert keys == ["key-1"]
