"""End to end: a member runs a campaign from draft to completed; the team feed tells the story."""

from __future__ import annotations

from tests.conftest import ApiClient, MultiTeamSetup


async def _put(client: ApiClient, url: str, current: dict, **changes) -> dict:
    body = {
        k: v
        for k, v in current.items()
        if k not in {"id", "team_id", "campaign_id", "created_at", "updated_at", "creator_name"}
    }
    response = await client.put(url, json={**body, **changes})
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_member_runs_a_campaign_and_the_feed_shows_every_step(
    multi_team_setup: MultiTeamSetup,
) -> None:
    a, b = multi_team_setup.a, multi_team_setup.b
    member, team = a.member_client, f"/api/teams/{a.team.id}"

    brand = (await member.post(f"{team}/brands", json={"name": "Acme"})).json()
    ada = (await member.post(f"{team}/creators", json={"name": "Ada", "handles": {"tiktok": "@ada"}})).json()
    bob = (await member.post(f"{team}/creators", json={"name": "Bob"})).json()
    campaign = (
        await member.post(
            f"{team}/campaigns",
            json={"name": "Launch", "brand_id": brand["id"], "budget": "5000", "currency": "EUR"},
        )
    ).json()
    campaign_url = f"{team}/campaigns/{campaign['id']}"
    campaign = await _put(member, campaign_url, campaign, status="active")

    for creator, fee in ((ada, "1500"), (bob, "900")):
        booked = await member.post(
            f"{campaign_url}/creators", json={"creator_id": creator["id"], "agreed_fee": fee}
        )
        assert booked.status_code == 201, booked.text

    post = (
        await member.post(f"{campaign_url}/posts", json={"creator_id": ada["id"], "platform": "tiktok"})
    ).json()
    planned = await member.post(
        f"{campaign_url}/posts", json={"creator_id": bob["id"], "platform": "instagram"}
    )
    assert planned.status_code == 201
    post_url = f"{campaign_url}/posts/{post['id']}"
    post = await _put(member, post_url, post, status="submitted")
    post = await _put(member, post_url, post, status="approved")
    post = await _put(member, post_url, post, status="scheduled", scheduled_at="2026-12-24T18:00:00Z")
    post = await _put(member, post_url, post, status="published", published_url="https://tiktok.com/@ada/1")

    todo = (
        await member.post(f"{campaign_url}/todos", json={"title": "Pay Ada", "assignee_id": str(a.owner.id)})
    ).json()
    todo = await _put(member, f"{campaign_url}/todos/{todo['id']}", todo, status="done")
    campaign = await _put(member, campaign_url, campaign, status="completed")

    feed = (await a.owner_client.get(f"{team}/events?limit=100&order=asc")).json()
    steps = [(e["object_type"], e["event_type"]) for e in feed["items"]]
    assert steps == [
        ("brand", "created"),
        ("creator", "created"),
        ("creator", "created"),
        ("campaign", "created"),
        ("campaign", "updated"),
        ("campaign", "status_changed"),
        ("campaign_creator", "created"),
        ("campaign_creator", "created"),
        ("post", "created"),
        ("post", "created"),
        *[("post", kind) for _ in range(4) for kind in ("updated", "status_changed")],
        ("todo", "created"),
        ("todo", "updated"),
        ("todo", "status_changed"),
        ("campaign", "updated"),
        ("campaign", "status_changed"),
    ]
    assert {e["actor_id"] for e in feed["items"]} == {str(a.member.id)}
    moves = [
        (e["object_type"], e["changes"]["status"]["old"], e["changes"]["status"]["new"])
        for e in feed["items"]
        if e["event_type"] == "status_changed"
    ]
    assert moves == [
        ("campaign", "draft", "active"),
        ("post", "draft", "submitted"),
        ("post", "submitted", "approved"),
        ("post", "approved", "scheduled"),
        ("post", "scheduled", "published"),
        ("todo", "open", "done"),
        ("campaign", "active", "completed"),
    ]
    scheduled = [
        e for e in feed["items"] if e["event_type"] == "updated" and "scheduled_at" in (e["changes"] or {})
    ]
    assert scheduled[0]["changes"]["scheduled_at"]["new"].startswith("2026-12-24T18:00:00")
    assert [
        e["changes"]["agreed_fee"]["new"] for e in feed["items"] if e["object_type"] == "campaign_creator"
    ] == [
        "1500.00",
        "900.00",
    ]

    dashboard = (await member.get(f"{team}/dashboard")).json()
    assert dashboard["money"] == [
        {
            "currency": "EUR",
            "budget": "5000.00",
            "committed": "2400.00",
            "spent": "1500.00",
            "remaining": "2600.00",
        }
    ]

    # Another team sees none of it.
    assert (await b.owner_client.get(f"{team}/events")).status_code == 404
    assert (await b.owner_client.get(campaign_url)).status_code == 404
    assert (await b.owner_client.get(f"/api/teams/{b.team.id}/events")).json()["total"] == 0
    assert (await b.owner_client.get(f"/api/teams/{b.team.id}/campaigns/{campaign['id']}")).status_code == 404
