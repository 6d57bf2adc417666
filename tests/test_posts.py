"""Posts: the review workflow, booked creators only, metrics, cascades; other teams see nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.tenancy import TenantContext, set_tenant
from tests.conftest import ApiClient, MultiTeamSetup
from tests.factories import CampaignCreatorFactory, CampaignFactory, CreatorFactory, PostFactory


def posts_url(team_id, campaign_id, post_id=None) -> str:
    base = f"/api/teams/{team_id}/campaigns/{campaign_id}/posts"
    return f"{base}/{post_id}" if post_id else base


def update_body(post: dict, **changes) -> dict:
    fields = (
        "creator_id",
        "platform",
        "caption",
        "status",
        "scheduled_at",
        "published_at",
        "published_url",
        "views",
        "likes",
        "comments",
        "shares",
        "version",
    )
    return {**{k: post[k] for k in fields}, **changes}


async def _booked(team_id, **creator):
    campaign = await CampaignFactory.create_async(team_id=team_id)
    booking = await CampaignCreatorFactory.book(
        campaign, await CreatorFactory.create_async(team_id=team_id, **creator)
    )
    return campaign, booking


async def test_create_and_get_a_post(authenticated_client: ApiClient, team) -> None:
    campaign, booking = await _booked(team.id, name="Ada")
    response = await authenticated_client.post(
        posts_url(team.id, campaign.id),
        json={"creator_id": str(booking.creator_id), "platform": "tiktok", "caption": "Hello"},
    )
    assert response.status_code == 201, response.text
    post = response.json()
    assert (post["status"], post["platform"], post["creator_name"], post["views"]) == (
        "draft",
        "tiktok",
        "Ada",
        0,
    )
    assert (await authenticated_client.get(posts_url(team.id, campaign.id, post["id"]))).json() == post


async def test_create_post_rejects_bad_input_and_unbooked_creators(multi_team_setup: MultiTeamSetup) -> None:
    a, b = multi_team_setup.a, multi_team_setup.b
    campaign, booking = await _booked(a.team.id)
    url = posts_url(a.team.id, campaign.id)
    creator_id = str(booking.creator_id)
    for body in (
        {"platform": "tiktok"},
        {"creator_id": creator_id, "platform": "myspace"},
        {"creator_id": creator_id, "platform": "tiktok", "status": "published"},
        {"creator_id": creator_id, "platform": "tiktok", "scheduled_at": "tomorrow"},
    ):
        assert (await a.owner_client.post(url, json=body)).status_code == 400, body
    unbooked = await CreatorFactory.create_async(team_id=a.team.id)
    foreign = await CreatorFactory.create_async(team_id=b.team.id)
    for other in (unbooked, foreign):
        response = await a.owner_client.post(url, json={"creator_id": str(other.id), "platform": "tiktok"})
        assert response.status_code == 422
        assert response.json()["errors"][0]["key"] == "creator_id"
    assert (await a.owner_client.get(url)).json()["total"] == 0


async def test_a_post_moves_through_review_to_publication(authenticated_client: ApiClient, team) -> None:
    campaign, booking = await _booked(team.id)
    post = await PostFactory.for_booking(booking)
    url = posts_url(team.id, campaign.id, post.id)
    current = (await authenticated_client.get(url)).json()

    skip = await authenticated_client.put(url, json=update_body(current, status="published"))
    assert skip.status_code == 409
    assert skip.json()["allowed_statuses"] == ["submitted"]

    for status in ("submitted", "changes_requested", "submitted", "approved"):
        response = await authenticated_client.put(url, json=update_body(current, status=status))
        assert response.status_code == 200, (status, response.text)
        current = response.json()

    unscheduled = await authenticated_client.put(url, json=update_body(current, status="scheduled"))
    assert unscheduled.status_code == 400
    assert unscheduled.json()["errors"][0]["key"] == "scheduled_at"
    when = "2026-12-24T18:00:00Z"
    current = (
        await authenticated_client.put(url, json=update_body(current, status="scheduled", scheduled_at=when))
    ).json()
    assert current["status"] == "scheduled"

    published = await authenticated_client.put(
        url,
        json=update_body(current, status="published", published_url="https://tiktok.com/@a/1", views=1000),
    )
    assert published.status_code == 200, published.text
    current = published.json()
    assert current["published_at"] is not None
    assert (current["views"], current["version"]) == (1000, 7)

    final = await authenticated_client.put(url, json=update_body(current, status="approved"))
    assert final.status_code == 409
    assert "nothing (it is final)" in final.json()["detail"]
    metrics = await authenticated_client.put(url, json=update_body(current, likes=50))
    assert metrics.status_code == 200

    history = (
        await authenticated_client.get(
            f"/api/teams/{team.id}/events/post/{post.id}?event_type=status_changed"
        )
    ).json()
    assert [e["changes"]["status"]["new"] for e in reversed(history["items"])] == [
        "submitted",
        "changes_requested",
        "submitted",
        "approved",
        "scheduled",
        "published",
    ]


async def test_update_is_versioned_and_rejects_bad_input(authenticated_client: ApiClient, team) -> None:
    campaign, booking = await _booked(team.id)
    post = await PostFactory.for_booking(booking, caption="Old")
    url = posts_url(team.id, campaign.id, post.id)
    current = (await authenticated_client.get(url)).json()
    assert (await authenticated_client.put(url, json={"caption": "New", "version": 1})).status_code == 400
    assert (await authenticated_client.put(url, json=update_body(current, views=-1))).status_code == 400
    assert (await authenticated_client.put(url, json=update_body(current, status="lost"))).status_code == 400
    assert (
        await authenticated_client.put(url, json=update_body(current, published_url="ftp://x"))
    ).status_code == 400
    unbooked = await CreatorFactory.create_async(team_id=team.id)
    moved = await authenticated_client.put(url, json=update_body(current, creator_id=str(unbooked.id)))
    assert moved.status_code == 422

    assert (await authenticated_client.put(url, json=update_body(current, caption="New"))).status_code == 200
    stale = await authenticated_client.put(url, json=update_body(current, caption="Lost"))
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    assert (await authenticated_client.get(url)).json()["caption"] == "New"


async def test_list_filters_sorts_and_paginates(authenticated_client: ApiClient, team) -> None:
    campaign, ada = await _booked(team.id)
    bob = await CampaignCreatorFactory.book(campaign)
    await PostFactory.for_booking(ada, caption="Morning coffee", views=10)
    await PostFactory.for_booking(ada, caption="Evening run", status="approved", views=30, platform="tiktok")
    await PostFactory.for_booking(
        bob, caption="Launch", status="scheduled", views=20, scheduled_at=datetime(2026, 12, 24, tzinfo=UTC)
    )
    url = posts_url(team.id, campaign.id)

    page = (await authenticated_client.get(url + "?limit=2")).json()
    assert ([p["caption"] for p in page["items"]], page["total"]) == (["Morning coffee", "Evening run"], 3)
    assert [
        p["caption"] for p in (await authenticated_client.get(url + "?status=approved")).json()["items"]
    ] == ["Evening run"]
    assert (await authenticated_client.get(url + f"?creator_id={bob.creator_id}")).json()["total"] == 1
    assert (await authenticated_client.get(url + "?platform=tiktok")).json()["total"] == 1
    assert (await authenticated_client.get(url + "?scheduled_after=2026-12-01T00:00:00Z")).json()[
        "total"
    ] == 1
    top = (await authenticated_client.get(url + "?sort=views&order=desc&limit=1")).json()
    assert top["items"][0]["caption"] == "Evening run"
    assert (await authenticated_client.get(url + "?q=COFFEE")).json()["total"] == 1
    assert (await authenticated_client.get(url + "?sort=likes")).status_code == 400


async def test_delete_needs_admin_and_campaign_delete_takes_posts(
    multi_team_setup: MultiTeamSetup, db_session: AsyncSession
) -> None:
    a = multi_team_setup.a
    campaign, booking = await _booked(a.team.id)
    post = await PostFactory.for_booking(booking)
    kept = await PostFactory.for_booking(booking)
    url = posts_url(a.team.id, campaign.id, post.id)
    assert (await a.member_client.delete(url)).status_code == 403
    assert (await a.owner_client.delete(url)).status_code == 204
    assert (await a.owner_client.get(url)).status_code == 404
    assert (await a.owner_client.get(posts_url(a.team.id, campaign.id, kept.id))).status_code == 200

    assert (await a.owner_client.delete(f"/api/teams/{a.team.id}/campaigns/{campaign.id}")).status_code == 204
    set_tenant(db_session, TenantContext(team_id=a.team.id))
    assert (await db_session.execute(text("SELECT count(*) FROM posts"))).scalar_one() == 0
    assert (await db_session.execute(text("SELECT count(*) FROM creators"))).scalar_one() == 1


async def test_a_post_of_another_campaign_is_not_found_through_this_one(
    authenticated_client: ApiClient, team
) -> None:
    _, booking = await _booked(team.id)
    other, _ = await _booked(team.id)
    post = await PostFactory.for_booking(booking)
    assert (await authenticated_client.get(posts_url(team.id, other.id, post.id))).status_code == 404
    assert (await authenticated_client.delete(posts_url(team.id, other.id, post.id))).status_code == 404


async def test_another_teams_user_gets_404_and_no_data(multi_team_setup: MultiTeamSetup) -> None:
    a, b = multi_team_setup.a, multi_team_setup.b
    campaign, booking = await _booked(b.team.id)
    post = await PostFactory.for_booking(booking, caption="Secret caption")
    current = {
        "creator_id": str(booking.creator_id),
        "platform": "instagram",
        "caption": "Hacked",
        "status": "draft",
        "scheduled_at": None,
        "published_at": None,
        "published_url": None,
        "views": 0,
        "likes": 0,
        "comments": 0,
        "shares": 0,
        "version": 1,
    }
    attempts = []
    for team_id in (b.team.id, a.team.id):
        attempts += [
            ("GET", posts_url(team_id, campaign.id), None),
            (
                "POST",
                posts_url(team_id, campaign.id),
                {"creator_id": str(booking.creator_id), "platform": "tiktok"},
            ),
            ("GET", posts_url(team_id, campaign.id, post.id), None),
            ("PUT", posts_url(team_id, campaign.id, post.id), current),
            ("DELETE", posts_url(team_id, campaign.id, post.id), None),
        ]
    for method, url, payload in attempts:
        response = await a.owner_client.request(method, url, json=payload)
        assert response.status_code == 404, (method, url, response.text)
        assert "Secret caption" not in response.text
    assert (await b.owner_client.get(posts_url(b.team.id, campaign.id, post.id))).json()[
        "caption"
    ] == "Secret caption"


async def test_list_costs_a_constant_number_of_queries(
    authenticated_client: ApiClient, team, query_counter
) -> None:
    campaign, booking = await _booked(team.id)
    await PostFactory.for_booking(booking)
    query_counter.reset()
    await authenticated_client.get(posts_url(team.id, campaign.id) + "?limit=100")
    with_one = query_counter.count
    for _ in range(15):
        await PostFactory.for_booking(booking)
    query_counter.reset()
    assert (await authenticated_client.get(posts_url(team.id, campaign.id) + "?limit=100")).json()[
        "total"
    ] == 16
    assert query_counter.count == with_one <= 4


async def test_a_finished_campaign_takes_no_new_posts(authenticated_client: ApiClient, team) -> None:
    for status in ("completed", "archived", "active"):
        campaign = await CampaignFactory.create_async(team_id=team.id, status=status)
        booking = await CampaignCreatorFactory.book(campaign)
        url = posts_url(team.id, campaign.id)
        response = await authenticated_client.post(
            url, json={"creator_id": str(booking.creator_id), "platform": "tiktok", "caption": "New"}
        )
        if status == "active":
            assert response.status_code == 201, response.text
            assert (await authenticated_client.get(url)).json()["total"] == 1
            continue
        assert response.status_code == 409, (status, response.text)
        assert response.json()["campaign_status"] == status
        assert f"This campaign is {status}" in response.json()["detail"]
        assert "posts" in response.json()["detail"]
        assert "another campaign" in response.json()["detail"]
        assert (await authenticated_client.get(url)).json()["total"] == 0, status


async def test_a_completed_campaigns_posts_still_update_an_archived_ones_are_read_only(
    authenticated_client: ApiClient, team
) -> None:
    completed = await CampaignFactory.create_async(team_id=team.id, status="completed")
    published = await PostFactory.for_booking(
        await CampaignCreatorFactory.book(completed), status="published", published_url="https://x.test/1"
    )
    url = posts_url(team.id, completed.id, published.id)
    current = (await authenticated_client.get(url)).json()
    metrics = await authenticated_client.put(url, json=update_body(current, views=5000, likes=70))
    assert metrics.status_code == 200, metrics.text
    assert (metrics.json()["views"], metrics.json()["version"]) == (5000, 2)
    assert (await authenticated_client.delete(url)).status_code == 204

    archived = await CampaignFactory.create_async(team_id=team.id, status="archived")
    post = await PostFactory.for_booking(await CampaignCreatorFactory.book(archived), caption="Final")
    url = posts_url(team.id, archived.id, post.id)
    before = (await authenticated_client.get(url)).json()
    for method, payload in (("PUT", update_body(before, caption="Changed")), ("DELETE", None)):
        response = await authenticated_client.request(method, url, json=payload)
        assert response.status_code == 409, (method, response.text)
        assert response.json()["campaign_status"] == "archived"
        assert "archived, so its posts are read-only" in response.json()["detail"]
    assert (await authenticated_client.get(url)).json() == before
