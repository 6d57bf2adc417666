"""Notifications: each kind once, for the right people, never for the actor; only one's own
are visible (row-level security on the user), marked read, summarised, muted."""

from __future__ import annotations

import asyncpg

from tests.conftest import ApiClient, MultiTeamSetup
from tests.factories import BrandFactory, CampaignCreatorFactory, CampaignFactory, PostFactory, UserFactory


def messages_url(team_id, object_type: str, object_id) -> str:
    return f"/api/teams/{team_id}/threads/{object_type}/{object_id}/messages"


async def _notifications(conn: asyncpg.Connection) -> list[tuple[str, str, str]]:
    rows = await conn.fetch("SELECT user_id::text, kind, cause_id::text FROM notifications ORDER BY id")
    return [(row["user_id"], row["kind"], row["cause_id"]) for row in rows]


async def test_mention_and_reply_each_once_and_never_for_the_actor(
    multi_team_setup: MultiTeamSetup, owner_connection: asyncpg.Connection
) -> None:
    a = multi_team_setup.a
    brand = await BrandFactory.create_async(team_id=a.team.id)
    url = messages_url(a.team.id, "brand", brand.id)
    first = (
        await a.owner_client.post(
            url, json={"body": "hello", "mentions": [str(a.member.id), str(a.owner.id)]}
        )
    ).json()
    assert await _notifications(owner_connection) == [(str(a.member.id), "mention", first["id"])]

    reply = (await a.member_client.post(url, json={"body": "hi back"})).json()
    assert (await _notifications(owner_connection))[1:] == [(str(a.owner.id), "reply", reply["id"])]

    # a participant who is mentioned gets the mention only
    third = (await a.member_client.post(url, json={"body": "@owner", "mentions": [str(a.owner.id)]})).json()
    assert (await _notifications(owner_connection))[2:] == [(str(a.owner.id), "mention", third["id"])]

    # editing keeps earlier mentions quiet
    edit = await a.member_client.put(
        f"{url}/{third['id']}", json={"body": "@owner again", "mentions": [str(a.owner.id)], "version": 1}
    )
    assert edit.status_code == 200
    assert len(await _notifications(owner_connection)) == 3


async def test_assigning_a_todo_notifies_the_assignee_once(
    multi_team_setup: MultiTeamSetup, owner_connection: asyncpg.Connection
) -> None:
    a = multi_team_setup.a
    campaign = await CampaignFactory.create_async(team_id=a.team.id)
    todos = f"/api/teams/{a.team.id}/campaigns/{campaign.id}/todos"
    mine = await a.owner_client.post(todos, json={"title": "Self", "assignee_id": str(a.owner.id)})
    assert mine.status_code == 201
    assert await _notifications(owner_connection) == []  # never for the actor

    todo = (await a.owner_client.post(todos, json={"title": "Brief", "assignee_id": str(a.member.id)})).json()
    rows = await owner_connection.fetch("SELECT user_id, kind, object_id, text FROM notifications")
    assert [(r["user_id"], r["kind"], str(r["object_id"])) for r in rows] == [
        (a.member.id, "assigned", todo["id"])
    ]
    assert "Brief" in rows[0]["text"]
    # an edit that keeps the assignee tells nobody again
    same = {
        k: todo[k]
        for k in ("title", "description", "assignee_id", "due_date", "status", "post_id", "version")
    }
    assert (
        await a.owner_client.put(f"{todos}/{todo['id']}", json={**same, "title": "Brief v2"})
    ).status_code == 200
    assert len(await owner_connection.fetch("SELECT 1 FROM notifications")) == 1


async def test_post_status_change_notifies_its_creator_and_todo_assignees(
    multi_team_setup: MultiTeamSetup, client_for, owner_connection: asyncpg.Connection
) -> None:
    a = multi_team_setup.a
    campaign = await CampaignFactory.create_async(team_id=a.team.id)
    booking = await CampaignCreatorFactory.book(campaign)
    posts = f"/api/teams/{a.team.id}/campaigns/{campaign.id}/posts"
    post = (
        await a.member_client.post(posts, json={"creator_id": str(booking.creator_id), "platform": "tiktok"})
    ).json()
    helper = await UserFactory.create_async()
    from tests.factories import TeamMemberFactory

    await TeamMemberFactory.create_async(team_id=a.team.id, user_id=helper.id)
    todo = await a.owner_client.post(
        f"/api/teams/{a.team.id}/campaigns/{campaign.id}/todos",
        json={"title": "Check post", "assignee_id": str(helper.id), "post_id": post["id"]},
    )
    assert todo.status_code == 201
    await owner_connection.execute("DELETE FROM notifications")

    fields = ("creator_id", "platform", "caption", "scheduled_at", "published_at", "published_url")
    body = {k: post[k] for k in (*fields, "views", "likes", "comments", "shares", "version")}
    assert (
        await a.owner_client.put(f"{posts}/{post['id']}", json={**body, "status": "submitted"})
    ).status_code == 200
    rows = await owner_connection.fetch("SELECT user_id, kind FROM notifications ORDER BY user_id")
    assert sorted((r["user_id"], r["kind"]) for r in rows) == sorted(
        [(a.member.id, "status_changed"), (helper.id, "status_changed")]
    )


async def test_an_invitation_notifies_an_existing_account(
    multi_team_setup: MultiTeamSetup, owner_connection: asyncpg.Connection
) -> None:
    a = multi_team_setup.a
    invitee = await UserFactory.create_async(email="known@example.com")
    response = await a.owner_client.post(
        f"/api/teams/{a.team.id}/invitations", json={"email": "known@example.com", "role": "member"}
    )
    assert response.status_code == 201
    rows = await owner_connection.fetch("SELECT user_id, kind, team_id FROM notifications")
    assert [(r["user_id"], r["kind"], r["team_id"]) for r in rows] == [(invitee.id, "invitation", a.team.id)]
    await a.owner_client.post(
        f"/api/teams/{a.team.id}/invitations", json={"email": "nobody@example.com", "role": "member"}
    )
    assert len(await owner_connection.fetch("SELECT 1 FROM notifications")) == 1


async def test_each_user_sees_and_marks_only_their_own(multi_team_setup: MultiTeamSetup, client_for) -> None:
    a, b = multi_team_setup.a, multi_team_setup.b
    brand = await BrandFactory.create_async(team_id=a.team.id)
    await a.owner_client.post(
        messages_url(a.team.id, "brand", brand.id), json={"body": "1", "mentions": [str(a.member.id)]}
    )
    await a.owner_client.post(
        messages_url(a.team.id, "brand", brand.id), json={"body": "2", "mentions": [str(a.member.id)]}
    )

    listed = (await a.member_client.get("/api/notifications")).json()
    assert [n["kind"] for n in listed["items"]] == ["mention", "mention"]
    assert (await a.owner_client.get("/api/notifications")).json()["items"] == []
    assert (await b.owner_client.get("/api/notifications")).json()["items"] == []
    summary = (await a.member_client.get("/api/notifications/summary")).json()
    assert summary == {"unread": 2, "teams": [{"team_id": str(a.team.id), "unread": 2}]}

    newest = listed["items"][0]["id"]
    assert (await b.owner_client.post(f"/api/notifications/{newest}/read")).status_code == 404  # not theirs
    assert (await a.member_client.get("/api/notifications", params={"unread": True})).json()["items"][0][
        "read_at"
    ] is None
    marked = await a.member_client.post(f"/api/notifications/{newest}/read")
    assert marked.status_code == 200
    assert marked.json()["read_at"] is not None
    unread = (await a.member_client.get("/api/notifications", params={"unread": True})).json()["items"]
    assert len(unread) == 1
    page = (await a.member_client.get("/api/notifications", params={"limit": 1})).json()
    assert page["has_more"] is True
    older = (
        await a.member_client.get("/api/notifications", params={"before": page["items"][0]["id"]})
    ).json()
    assert len(older["items"]) == 1

    assert (await b.owner_client.post("/api/notifications/read", json={})).json() == {"marked": 0}
    assert (
        await a.member_client.post("/api/notifications/read", json={"team_id": str(b.team.id)})
    ).json() == {"marked": 0}
    assert (
        await a.member_client.post("/api/notifications/read", json={"team_id": str(a.team.id)})
    ).json() == {"marked": 1}
    assert (await a.member_client.get("/api/notifications/summary")).json()["unread"] == 0


async def test_bad_input_is_a_clear_4xx(authenticated_client: ApiClient) -> None:
    assert (await authenticated_client.get("/api/notifications", params={"limit": 0})).status_code == 400
    assert (await authenticated_client.post("/api/notifications/not-a-uuid/read")).status_code in {400, 404}
    assert (await authenticated_client.post("/api/notifications/read", json={"team": "x"})).status_code == 400
    bad = await authenticated_client.put(
        "/api/notifications/preferences",
        json={"digest": "weekly", "muted_thread_ids": [], "muted_campaign_ids": []},
    )
    assert bad.status_code == 400
    partial = await authenticated_client.put("/api/notifications/preferences", json={"digest": "off"})
    assert partial.status_code == 400
    assert (
        await authenticated_client.get("/api/notifications", headers={"Authorization": "Bearer nope"})
    ).status_code == 401


async def test_preferences_mute_replies_and_status_changes_but_not_mentions(
    multi_team_setup: MultiTeamSetup, owner_connection: asyncpg.Connection
) -> None:
    a = multi_team_setup.a
    brand = await BrandFactory.create_async(team_id=a.team.id)
    url = messages_url(a.team.id, "brand", brand.id)
    first = (await a.member_client.post(url, json={"body": "I was here"})).json()

    defaults = (await a.member_client.get("/api/notifications/preferences")).json()
    assert defaults == {"digest": "daily", "muted_thread_ids": [], "muted_campaign_ids": []}
    prefs = {"digest": "hourly", "muted_thread_ids": [first["thread_id"]], "muted_campaign_ids": []}
    saved = await a.member_client.put("/api/notifications/preferences", json=prefs)
    assert saved.status_code == 200, saved.text
    assert saved.json() == prefs
    assert (await a.owner_client.get("/api/notifications/preferences")).json()["digest"] == "daily"

    await a.owner_client.post(url, json={"body": "a reply the member muted"})
    assert await _notifications(owner_connection) == []
    mention = (
        await a.owner_client.post(url, json={"body": "but this", "mentions": [str(a.member.id)]})
    ).json()
    assert await _notifications(owner_connection) == [(str(a.member.id), "mention", mention["id"])]


async def test_a_failed_post_writes_no_notification(
    multi_team_setup: MultiTeamSetup, owner_connection: asyncpg.Connection
) -> None:
    a, b = multi_team_setup.a, multi_team_setup.b
    campaign = await CampaignFactory.create_async(team_id=a.team.id)
    post = await PostFactory.for_booking(await CampaignCreatorFactory.book(campaign))
    response = await a.owner_client.post(
        messages_url(a.team.id, "post", post.id),
        json={"body": "x", "mentions": [str(a.member.id), str(b.owner.id)]},
    )
    assert response.status_code == 422
    assert await _notifications(owner_connection) == []
