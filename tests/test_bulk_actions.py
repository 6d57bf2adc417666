"""Bulk actions: up to 100 objects of one type, all or nothing by default or each on its own."""

from __future__ import annotations

import asyncpg

from app.lib.roles import TeamRole
from tests.actions_helpers import booked_campaign, bulk_url
from tests.conftest import ApiClient, QueryCounter
from tests.factories import CampaignFactory, PostFactory, TeamMemberFactory, TodoFactory, UserFactory


def _bulk_body(action: str, posts, *, versions: dict | None = None, mode: str | None = None) -> dict:
    versions = versions or {}
    sent: dict = {
        "action": f"post.{action}",
        "objects": [{"id": str(p.id), "version": versions.get(p.id, 1)} for p in posts],
    }
    if mode:
        sent["mode"] = mode
    return sent


async def _approve(client: ApiClient, team_id, posts, **kwargs):
    return await client.post(
        bulk_url(team_id, "post", "approve"), json=_bulk_body("approve", posts, **kwargs)
    )


async def _statuses(conn: asyncpg.Connection, posts) -> list[str]:
    rows = await conn.fetch("SELECT id, status FROM posts WHERE id = ANY($1::uuid[])", [p.id for p in posts])
    by_id = {row["id"]: row["status"] for row in rows}
    return [by_id[p.id] for p in posts]


async def test_approving_20_posts_costs_the_same_queries_as_approving_2(
    authenticated_client: ApiClient, team, query_counter: QueryCounter, owner_connection: asyncpg.Connection
) -> None:
    campaign, booking = await booked_campaign(team.id)
    assignee = await UserFactory.create_async()
    await TeamMemberFactory.create_async(team_id=team.id, user_id=assignee.id, role=TeamRole.MEMBER)

    async def submitted_post_with_a_todo():
        post = await PostFactory.for_booking(booking, status="submitted")
        await TodoFactory.for_campaign(campaign, post_id=post.id, assignee_id=assignee.id)
        return post

    few = [await submitted_post_with_a_todo() for _ in range(2)]
    many = [await submitted_post_with_a_todo() for _ in range(20)]

    query_counter.reset()
    response = await _approve(authenticated_client, team.id, few)
    assert response.status_code == 200, response.text
    for_two = query_counter.count

    query_counter.reset()
    response = await _approve(authenticated_client, team.id, many)
    assert response.status_code == 200, response.text
    assert query_counter.count == for_two, query_counter.statements
    # Load the posts (locking their campaigns), UPDATE them, INSERT the events; the threads'
    # listener: the posts' campaigns (the move expired them), the threads (found or created in one
    # statement), the system messages (inserted and read back in one); the notifications'
    # listener: the actor's name, the posts' campaigns and threads, the recipients, their mutes,
    # the notifications; then one pg_notify for every live frame of the flush (messages,
    # notifications, feed); the page of posts the response returns. (SQLAlchemy's statements
    # only: the tenant context and BEGIN and COMMIT are not among them.)
    assert for_two == 13, query_counter.statements

    result = response.json()
    assert (result["succeeded"], result["failed"], result["mode"]) == (20, 0, "all")
    assert [item["id"] for item in result["items"]] == [str(p.id) for p in many]
    assert {
        (item["ok"], item["object"]["status"], item["object"]["version"]) for item in result["items"]
    } == {(True, "approved", 2)}
    assert await _statuses(owner_connection, many) == ["approved"] * 20
    events = await owner_connection.fetch(
        "SELECT event_type, count(*) AS n FROM events WHERE object_type = 'post' GROUP BY event_type"
    )
    assert {row["event_type"]: row["n"] for row in events} == {"updated": 22, "status_changed": 22}
    # The batched listeners wrote what one event at a time did: a thread per post with its two
    # system messages, and the assignee's notification of each move.
    per_post = await owner_connection.fetch(
        "SELECT t.object_id, count(m.id) AS n FROM threads t JOIN thread_messages m ON m.thread_id = t.id"
        " WHERE t.object_type = 'post' AND m.kind = 'system' GROUP BY t.object_id"
    )
    assert {row["object_id"]: row["n"] for row in per_post} == {p.id: 2 for p in [*few, *many]}
    notified = await owner_connection.fetch(
        "SELECT object_id FROM notifications WHERE user_id = $1 AND kind = 'status_changed'", assignee.id
    )
    assert sorted(row["object_id"] for row in notified) == sorted(p.id for p in [*few, *many])


async def test_all_or_nothing_fails_on_one_stale_post_and_changes_none(
    authenticated_client: ApiClient, team, owner_connection: asyncpg.Connection
) -> None:
    _, booking = await booked_campaign(team.id)
    posts = [await PostFactory.for_booking(booking, status="submitted") for _ in range(5)]
    stale = posts[2]
    response = await _approve(authenticated_client, team.id, posts, versions={stale.id: 7})
    assert response.status_code == 409
    problem = response.json()
    assert problem["failures"] == [
        {"id": str(stale.id), "status": 409, "detail": problem["failures"][0]["detail"]}
    ]
    assert "version 7" in problem["failures"][0]["detail"]
    assert await _statuses(owner_connection, posts) == ["submitted"] * 5
    assert int(await owner_connection.fetchval("SELECT count(*) FROM events") or 0) == 0


async def test_each_mode_applies_the_valid_ones_and_reports_the_others(
    authenticated_client: ApiClient, team, owner_connection: asyncpg.Connection
) -> None:
    _, booking = await booked_campaign(team.id)
    posts = [await PostFactory.for_booking(booking, status="submitted") for _ in range(6)]
    draft = await PostFactory.for_booking(booking)
    sent = [*posts, draft]
    stale = {posts[1].id: 3, posts[4].id: 9}
    response = await _approve(authenticated_client, team.id, sent, versions=stale, mode="each")
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["succeeded"], result["failed"]) == (4, 3)
    items = {item["id"]: item for item in result["items"]}
    for post_id in stale:
        assert items[str(post_id)]["ok"] is False
        assert items[str(post_id)]["problem"]["status"] == 409
        assert items[str(post_id)]["problem"]["current_version"] == 1
        assert items[str(post_id)]["object"] is None
    assert items[str(draft.id)]["problem"]["detail"] == "Only submitted posts can be approved."
    assert await _statuses(owner_connection, sent) == [
        "approved",
        "submitted",
        "approved",
        "approved",
        "submitted",
        "approved",
        "draft",
    ]


async def test_each_mode_keeps_going_when_the_domain_refuses_one(
    authenticated_client: ApiClient, team, owner_connection: asyncpg.Connection
) -> None:
    """A failure inside the action (not foreseen by its availability check) costs only that object."""
    open_campaign, booking = await booked_campaign(team.id, status="active")
    ok = await PostFactory.for_booking(booking, status="submitted")
    archived, archived_booking = await booked_campaign(team.id, status="archived")
    frozen = await PostFactory.for_booking(archived_booking, status="submitted")
    response = await _approve(authenticated_client, team.id, [ok, frozen], mode="each")
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [item["ok"] for item in items] == [True, False]
    assert "read-only" in items[1]["problem"]["detail"]
    assert await _statuses(owner_connection, [ok, frozen]) == ["approved", "submitted"]
    assert open_campaign.id != archived.id


async def test_bulk_input_is_checked(authenticated_client: ApiClient, team) -> None:
    campaign = await CampaignFactory.create_async(team_id=team.id)
    url = bulk_url(team.id, "post", "approve")
    ids = [{"id": str(campaign.id), "version": 1}]
    for sent, key in (
        ({"action": "post.approve", "objects": []}, "objects"),
        ({"action": "post.approve", "objects": ids * 2}, "objects"),
        ({"action": "post.approve", "objects": [{"id": "x", "version": 1}] * 101}, "objects"),
        ({"action": "post.approve", "objects": ids, "mode": "some"}, "mode"),
        ({"action": "post.publish", "objects": ids}, "action"),
    ):
        response = await authenticated_client.post(url, json=sent)
        assert response.status_code == 400, sent
        assert response.json()["errors"][0]["key"] == key, (sent, response.json())
    schedule = await authenticated_client.post(
        bulk_url(team.id, "post", "schedule"), json={"action": "post.schedule", "objects": ids}
    )
    assert schedule.status_code == 400
    assert schedule.json()["errors"][0]["key"] == "input.scheduled_at"
