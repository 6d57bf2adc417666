"""Threads: a conversation on every threadable object, system messages from its events,
cursor pages, edits by version, tombstones; other teams and guests outside their campaigns
see nothing and write nothing."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from app.lib.roles import TeamRole
from tests.conftest import ApiClient, MultiTeamSetup
from tests.factories import (
    BrandFactory,
    CampaignCreatorFactory,
    CampaignFactory,
    CampaignGuestAccessFactory,
    CreatorFactory,
    PostFactory,
    TeamMemberFactory,
    TodoFactory,
    UserFactory,
)


def thread_url(team_id, object_type: str, object_id, suffix: str = "") -> str:
    return f"/api/teams/{team_id}/threads/{object_type}/{object_id}{suffix}"


def messages_url(team_id, object_type: str, object_id, message_id=None) -> str:
    base = thread_url(team_id, object_type, object_id, "/messages")
    return f"{base}/{message_id}" if message_id else base


async def _count(conn: asyncpg.Connection, table: str) -> int:
    return int(await conn.fetchval(f"SELECT count(*) FROM {table}") or 0)


async def test_first_message_creates_the_thread_and_lists_newest_first(
    multi_team_setup: MultiTeamSetup,
) -> None:
    a = multi_team_setup.a
    brand = await BrandFactory.create_async(team_id=a.team.id)
    url = messages_url(a.team.id, "brand", brand.id)

    empty = await a.owner_client.get(thread_url(a.team.id, "brand", brand.id))
    assert empty.status_code == 200, empty.text
    assert (empty.json()["thread_id"], empty.json()["message_count"]) == (None, 0)

    first = await a.owner_client.post(url, json={"body": "  First!  "})
    assert first.status_code == 201, first.text
    assert (first.json()["body"], first.json()["kind"], first.json()["version"]) == ("First!", "user", 1)
    second = await a.member_client.post(url, json={"body": "Second"})
    assert second.status_code == 201

    listed = (await a.owner_client.get(url)).json()
    assert [m["body"] for m in listed["items"]] == ["Second", "First!"]
    assert listed["has_more"] is False

    thread = (await a.owner_client.get(thread_url(a.team.id, "brand", brand.id))).json()
    assert thread["message_count"] == 2
    assert {p["user_id"] for p in thread["participants"]} == {str(a.owner.id), str(a.member.id)}
    assert thread["unread_count"] == 1  # the member's message; one's own never counts


async def test_cursor_pages_are_stable_while_others_post(multi_team_setup: MultiTeamSetup) -> None:
    a = multi_team_setup.a
    brand = await BrandFactory.create_async(team_id=a.team.id)
    url = messages_url(a.team.id, "brand", brand.id)
    for index in range(5):
        assert (await a.owner_client.post(url, json={"body": f"m{index}"})).status_code == 201

    page1 = (await a.owner_client.get(url, params={"limit": 2})).json()
    assert [m["body"] for m in page1["items"]] == ["m4", "m3"]
    assert page1["has_more"]
    await a.member_client.post(url, json={"body": "late"})  # a new message does not shift older pages
    page2 = (await a.owner_client.get(url, params={"limit": 2, "before": page1["items"][-1]["id"]})).json()
    assert [m["body"] for m in page2["items"]] == ["m2", "m1"]
    newer = (await a.owner_client.get(url, params={"after": page1["items"][0]["id"], "order": "asc"})).json()
    assert [m["body"] for m in newer["items"]] == ["late"]


async def test_a_list_costs_the_same_queries_whatever_the_page_size(
    multi_team_setup: MultiTeamSetup, query_counter
) -> None:
    a = multi_team_setup.a
    brand = await BrandFactory.create_async(team_id=a.team.id)
    url = messages_url(a.team.id, "brand", brand.id)
    for index in range(6):
        await a.owner_client.post(url, json={"body": f"m{index}", "mentions": [str(a.member.id)]})
    counts = []
    for limit in (1, 6):
        query_counter.reset()
        assert (await a.owner_client.get(url, params={"limit": limit})).status_code == 200
        counts.append(query_counter.count)
    assert counts[0] == counts[1]


async def test_unknown_object_type_is_400_naming_the_valid_ones(
    authenticated_client: ApiClient, team
) -> None:
    response = await authenticated_client.get(thread_url(team.id, "planet", team.id))
    assert response.status_code == 400
    for name in ("brand", "campaign", "creator", "post", "todo"):
        assert name in response.json()["detail"]


@pytest.mark.parametrize("body", ["", "   ", "x" * 10_001])
async def test_bad_bodies_are_400(authenticated_client: ApiClient, team, body: str) -> None:
    brand = await BrandFactory.create_async(team_id=team.id)
    response = await authenticated_client.post(messages_url(team.id, "brand", brand.id), json={"body": body})
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["key"] == "body"


async def test_unknown_fields_and_missing_objects(authenticated_client: ApiClient, team) -> None:
    brand = await BrandFactory.create_async(team_id=team.id)
    url = messages_url(team.id, "brand", brand.id)
    assert (await authenticated_client.post(url, json={"body": "x", "extra": 1})).status_code == 400
    missing = messages_url(team.id, "brand", team.id)  # an id that is no brand
    assert (await authenticated_client.post(missing, json={"body": "x"})).status_code == 404


async def test_mentions_must_be_members_who_can_see_the_object(
    multi_team_setup: MultiTeamSetup, owner_connection: asyncpg.Connection
) -> None:
    a, b = multi_team_setup.a, multi_team_setup.b
    campaign = await CampaignFactory.create_async(team_id=a.team.id)
    other_campaign = await CampaignFactory.create_async(team_id=a.team.id)
    guest = await UserFactory.create_async()
    await TeamMemberFactory.create_async(team_id=a.team.id, user_id=guest.id, role=TeamRole.GUEST)
    await CampaignGuestAccessFactory.create_async(
        team_id=a.team.id, campaign_id=other_campaign.id, user_id=guest.id
    )
    url = messages_url(a.team.id, "campaign", campaign.id)

    refused = await a.owner_client.post(
        url, json={"body": "hi", "mentions": [str(a.member.id), str(b.owner.id), str(guest.id)]}
    )
    assert refused.status_code == 422, refused.text
    assert set(refused.json()["refused_mentions"]) == {str(b.owner.id), str(guest.id)}
    assert await _count(owner_connection, "thread_messages") == 0

    ok = await a.owner_client.post(url, json={"body": "hi", "mentions": [str(a.member.id)]})
    assert ok.status_code == 201
    assert ok.json()["mentions"] == [str(a.member.id)]


async def test_edit_with_version_and_stale_versions_conflict(multi_team_setup: MultiTeamSetup) -> None:
    a = multi_team_setup.a
    brand = await BrandFactory.create_async(team_id=a.team.id)
    posted = (
        await a.owner_client.post(messages_url(a.team.id, "brand", brand.id), json={"body": "draft"})
    ).json()
    url = messages_url(a.team.id, "brand", brand.id, posted["id"])

    edited = await a.owner_client.put(url, json={"body": "final", "mentions": [], "version": 1})
    assert edited.status_code == 200, edited.text
    assert (edited.json()["body"], edited.json()["version"]) == ("final", 2)
    assert edited.json()["edited_at"] is not None

    stale = await a.owner_client.put(url, json={"body": "again", "mentions": [], "version": 1})
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    other_author = await a.member_client.put(url, json={"body": "mine", "mentions": [], "version": 2})
    assert other_author.status_code == 403
    partial = await a.owner_client.put(url, json={"body": "no version"})
    assert partial.status_code == 400


async def test_delete_leaves_a_tombstone_and_only_authors_and_admins_delete(
    multi_team_setup: MultiTeamSetup,
) -> None:
    a = multi_team_setup.a
    brand = await BrandFactory.create_async(team_id=a.team.id)
    base = messages_url(a.team.id, "brand", brand.id)
    by_owner = (await a.owner_client.post(base, json={"body": "owner's"})).json()
    by_member = (await a.member_client.post(base, json={"body": "member's"})).json()

    assert (await a.member_client.delete(f"{base}/{by_owner['id']}")).status_code == 403
    assert (await a.member_client.delete(f"{base}/{by_member['id']}")).status_code == 204
    assert (await a.owner_client.delete(f"{base}/{by_owner['id']}")).status_code == 204  # admins may

    items = (await a.owner_client.get(base)).json()["items"]
    assert [(m["body"], m["deleted_at"] is not None) for m in items] == [("", True), ("", True)]
    thread = (await a.owner_client.get(thread_url(a.team.id, "brand", brand.id))).json()
    assert thread["message_count"] == 2  # tombstones keep their place
    edit = await a.member_client.put(
        f"{base}/{by_member['id']}", json={"body": "x", "mentions": [], "version": 2}
    )
    assert edit.status_code == 409


async def test_mark_read_moves_forward_only(multi_team_setup: MultiTeamSetup) -> None:
    a = multi_team_setup.a
    brand = await BrandFactory.create_async(team_id=a.team.id)
    base = messages_url(a.team.id, "brand", brand.id)
    first = (await a.owner_client.post(base, json={"body": "1"})).json()
    await a.owner_client.post(base, json={"body": "2"})
    read_url = thread_url(a.team.id, "brand", brand.id, "/read")

    assert (await a.member_client.get(thread_url(a.team.id, "brand", brand.id))).json()["unread_count"] == 2
    marked = await a.member_client.post(read_url, json={})
    assert marked.status_code == 200, marked.text
    assert marked.json()["unread_count"] == 0
    back = await a.member_client.post(read_url, json={"message_id": first["id"]})
    assert back.json()["unread_count"] == 0
    bad = await a.member_client.post(read_url, json={"message_id": str(a.team.id)})
    assert bad.status_code == 422


async def test_system_messages_for_events_on_every_threadable_type(
    authenticated_client: ApiClient, team, user
) -> None:
    client = authenticated_client
    brand = (await client.post(f"/api/teams/{team.id}/brands", json={"name": "Acme"})).json()
    creator = (await client.post(f"/api/teams/{team.id}/creators", json={"name": "Ada"})).json()
    campaign_response = await client.post(
        f"/api/teams/{team.id}/campaigns",
        json={
            "brand_id": brand["id"],
            "name": "Launch",
            "budget": "100.00",
            "currency": "EUR",
            "start_date": "2026-12-01",
            "end_date": "2026-12-31",
        },
    )
    assert campaign_response.status_code == 201, campaign_response.text
    campaign = campaign_response.json()
    campaign_obj = await CampaignFactory.create_async(team_id=team.id)
    booking = await CampaignCreatorFactory.book(campaign_obj)
    post = await client.post(
        f"/api/teams/{team.id}/campaigns/{campaign_obj.id}/posts",
        json={"creator_id": str(booking.creator_id), "platform": "tiktok"},
    )
    assert post.status_code == 201, post.text
    todo = await client.post(
        f"/api/teams/{team.id}/campaigns/{campaign_obj.id}/todos", json={"title": "Brief"}
    )
    assert todo.status_code == 201, todo.text

    for object_type, object_id in [
        ("brand", brand["id"]),
        ("creator", creator["id"]),
        ("campaign", campaign["id"]),
        ("post", post.json()["id"]),
        ("todo", todo.json()["id"]),
    ]:
        items = (await client.get(messages_url(team.id, object_type, object_id))).json()["items"]
        assert [(m["kind"], m["event_type"], m["author_id"]) for m in items] == [
            ("system", "created", str(user.id))
        ], object_type
        assert items[0]["changes"]


async def test_status_change_and_delete_show_in_the_post_thread(
    authenticated_client: ApiClient, team, owner_connection: asyncpg.Connection
) -> None:
    campaign = await CampaignFactory.create_async(team_id=team.id)
    booking = await CampaignCreatorFactory.book(campaign)
    posts = f"/api/teams/{team.id}/campaigns/{campaign.id}/posts"
    created = (
        await authenticated_client.post(
            posts, json={"creator_id": str(booking.creator_id), "platform": "tiktok"}
        )
    ).json()
    fields = ("creator_id", "platform", "caption", "scheduled_at", "published_at", "published_url")
    body = {k: created[k] for k in (*fields, "views", "likes", "comments", "shares", "version")}
    moved = await authenticated_client.put(f"{posts}/{created['id']}", json={**body, "status": "submitted"})
    assert moved.status_code == 200, moved.text

    items = (await authenticated_client.get(messages_url(team.id, "post", created["id"]))).json()["items"]
    assert [m["event_type"] for m in items] == ["status_changed", "updated", "created"]
    assert items[0]["changes"] == {"status": {"old": "draft", "new": "submitted"}}

    assert (await authenticated_client.delete(f"{posts}/{created['id']}")).status_code == 204
    # The post is gone (its thread answers 404 now), but the thread keeps its history.
    assert (await authenticated_client.get(messages_url(team.id, "post", created["id"]))).status_code == 404
    rows = await owner_connection.fetch(
        "SELECT m.event_type FROM thread_messages m JOIN threads t ON t.id = m.thread_id "
        "WHERE t.object_id = $1 ORDER BY m.id DESC",
        created["id"],
    )
    assert [row["event_type"] for row in rows] == ["deleted", "status_changed", "updated", "created"]


async def test_a_rolled_back_change_leaves_no_system_message(
    authenticated_client: ApiClient, team, owner_connection: asyncpg.Connection
) -> None:
    brand = await BrandFactory.create_async(team_id=team.id, name="Taken")
    response = await authenticated_client.post(f"/api/teams/{team.id}/brands", json={"name": "taken"})
    assert response.status_code == 409
    assert await _count(owner_connection, "thread_messages") == 0
    assert brand


async def test_concurrent_first_posts_make_one_thread(
    multi_team_setup: MultiTeamSetup, owner_connection: asyncpg.Connection
) -> None:
    a = multi_team_setup.a
    creator = await CreatorFactory.create_async(team_id=a.team.id)
    url = messages_url(a.team.id, "creator", creator.id)
    responses = await asyncio.gather(
        *[a.owner_client.post(url, json={"body": f"race {i}"}) for i in range(6)]
    )
    assert [r.status_code for r in responses] == [201] * 6
    assert await _count(owner_connection, "threads") == 1
    assert len({r.json()["thread_id"] for r in responses}) == 1


async def test_another_team_gets_404_and_writes_nothing(
    multi_team_setup: MultiTeamSetup, owner_connection: asyncpg.Connection
) -> None:
    a, b = multi_team_setup.a, multi_team_setup.b
    brand = await BrandFactory.create_async(team_id=a.team.id)
    posted = (
        await a.owner_client.post(messages_url(a.team.id, "brand", brand.id), json={"body": "ours"})
    ).json()
    before = await _count(owner_connection, "thread_messages")

    for response in [
        await b.owner_client.get(thread_url(a.team.id, "brand", brand.id)),
        await b.owner_client.get(messages_url(a.team.id, "brand", brand.id)),
        await b.owner_client.post(messages_url(a.team.id, "brand", brand.id), json={"body": "theirs"}),
        await b.owner_client.put(
            messages_url(a.team.id, "brand", brand.id, posted["id"]),
            json={"body": "x", "mentions": [], "version": 1},
        ),
        await b.owner_client.delete(messages_url(a.team.id, "brand", brand.id, posted["id"])),
        await b.owner_client.post(thread_url(a.team.id, "brand", brand.id, "/read"), json={}),
        # their own team in the path, our object's id: still not found
        await b.owner_client.post(messages_url(b.team.id, "brand", brand.id), json={"body": "theirs"}),
    ]:
        assert response.status_code == 404, response.text
    assert await _count(owner_connection, "thread_messages") == before
    assert (
        await owner_connection.fetchval("SELECT body FROM thread_messages WHERE id = $1", posted["id"])
        == "ours"
    )


async def test_guest_posts_only_in_threads_of_their_campaigns(
    multi_team_setup: MultiTeamSetup, client_for, owner_connection: asyncpg.Connection
) -> None:
    a = multi_team_setup.a
    visible = await CampaignFactory.create_async(team_id=a.team.id)
    hidden = await CampaignFactory.create_async(team_id=a.team.id)
    guest = await UserFactory.create_async()
    await TeamMemberFactory.create_async(team_id=a.team.id, user_id=guest.id, role=TeamRole.GUEST)
    await CampaignGuestAccessFactory.create_async(team_id=a.team.id, campaign_id=visible.id, user_id=guest.id)
    guest_client = client_for(guest)
    post = await PostFactory.for_booking(await CampaignCreatorFactory.book(visible), status="submitted")
    hidden_todo = await TodoFactory.for_campaign(hidden)
    brand = await BrandFactory.create_async(team_id=a.team.id)

    ok = await guest_client.post(
        messages_url(a.team.id, "post", post.id),
        json={"body": "Please brighten the intro", "mentions": [str(a.owner.id)]},
    )
    assert ok.status_code == 201, ok.text
    assert (await a.owner_client.get(messages_url(a.team.id, "post", post.id))).json()["items"][0][
        "body"
    ] == ("Please brighten the intro")
    before = await _count(owner_connection, "thread_messages")
    for object_type, object_id in [("todo", hidden_todo.id), ("campaign", hidden.id), ("brand", brand.id)]:
        assert (await guest_client.get(messages_url(a.team.id, object_type, object_id))).status_code == 404
        assert (
            await guest_client.post(messages_url(a.team.id, object_type, object_id), json={"body": "x"})
        ).status_code == 404
    assert await _count(owner_connection, "thread_messages") == before
    # members can mention the guest only where the guest can see
    refused = await a.owner_client.post(
        messages_url(a.team.id, "todo", hidden_todo.id), json={"body": "x", "mentions": [str(guest.id)]}
    )
    assert refused.status_code == 422
