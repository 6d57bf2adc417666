"""Campaigns and their creators: exact money, dates, status moves, cascades, other teams see nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns.bookings import CampaignCreatorService
from app.campaigns.schemas import CampaignCreatorUpdate
from app.db.engine import tenant_session
from app.db.tenancy import TenantContext, set_tenant
from app.lib.errors import ConflictError
from app.todos.schemas import TodoCreate
from app.todos.services import TodoService
from tests.conftest import ApiClient, MultiTeamSetup
from tests.factories import BrandFactory, CampaignCreatorFactory, CampaignFactory, CreatorFactory


def campaigns_url(team_id, campaign_id=None) -> str:
    base = f"/api/teams/{team_id}/campaigns"
    return f"{base}/{campaign_id}" if campaign_id else base


def bookings_url(team_id, campaign_id, booking_id=None) -> str:
    base = f"{campaigns_url(team_id, campaign_id)}/creators"
    return f"{base}/{booking_id}" if booking_id else base


def update_body(campaign: dict, **changes) -> dict:
    fields = (
        "name",
        "brand_id",
        "status",
        "budget",
        "currency",
        "start_date",
        "end_date",
        "description",
        "version",
    )
    return {**{k: campaign[k] for k in fields}, **changes}


async def test_create_and_get_a_campaign(authenticated_client: ApiClient, team) -> None:
    brand = await BrandFactory.create_async(team_id=team.id)
    body = {
        "name": "Winter launch",
        "brand_id": str(brand.id),
        "budget": 12500.5,
        "currency": "EUR",
        "start_date": "2026-12-01",
        "end_date": "2026-12-31",
    }
    response = await authenticated_client.post(campaigns_url(team.id), json=body)
    assert response.status_code == 201, response.text
    campaign = response.json()
    assert (campaign["status"], campaign["budget"], campaign["currency"]) == ("draft", "12500.50", "EUR")
    assert (campaign["start_date"], campaign["end_date"], campaign["version"]) == (
        "2026-12-01",
        "2026-12-31",
        1,
    )
    assert (await authenticated_client.get(campaigns_url(team.id, campaign["id"]))).json() == campaign


async def test_create_campaign_rejects_bad_input(authenticated_client: ApiClient, team) -> None:
    brand = await BrandFactory.create_async(team_id=team.id)
    valid = {"name": "C", "brand_id": str(brand.id), "budget": "100", "currency": "EUR"}
    cases = {
        "end_date": {**valid, "start_date": "2026-12-31", "end_date": "2026-12-01"},
        "budget": {**valid, "budget": "10.001"},
        "currency": {**valid, "currency": "eur"},
        "status": {**valid, "status": "active"},
    }
    for key, body in cases.items():
        response = await authenticated_client.post(campaigns_url(team.id), json=body)
        assert response.status_code == 400, (key, response.text)
        assert [e["key"] for e in response.json()["errors"]] == [key]
    negative = await authenticated_client.post(campaigns_url(team.id), json={**valid, "budget": "-1"})
    assert negative.status_code == 400
    missing = await authenticated_client.post(campaigns_url(team.id), json={"name": "C"})
    assert missing.status_code == 400
    assert (await authenticated_client.get(campaigns_url(team.id))).json()["total"] == 0


async def test_a_brand_of_another_team_is_unknown(multi_team_setup: MultiTeamSetup) -> None:
    a, b = multi_team_setup.a, multi_team_setup.b
    foreign = await BrandFactory.create_async(team_id=b.team.id)
    body = {"name": "C", "brand_id": str(foreign.id), "budget": "1", "currency": "USD"}
    response = await a.owner_client.post(campaigns_url(a.team.id), json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["key"] == "brand_id"


async def test_status_moves_along_the_transition_map(authenticated_client: ApiClient, team) -> None:
    campaign = await CampaignFactory.create_async(team_id=team.id)
    url = campaigns_url(team.id, campaign.id)
    current = (await authenticated_client.get(url)).json()

    illegal = await authenticated_client.put(url, json=update_body(current, status="completed"))
    assert illegal.status_code == 409
    assert illegal.json()["allowed_statuses"] == ["active", "archived"]
    assert "active, archived" in illegal.json()["detail"]

    for status in ("active", "paused", "active", "completed", "archived"):
        response = await authenticated_client.put(url, json=update_body(current, status=status))
        assert response.status_code == 200, (status, response.text)
        current = response.json()
    final = await authenticated_client.put(url, json=update_body(current, status="draft"))
    assert final.status_code == 409
    assert final.json()["allowed_statuses"] == []

    history = (await authenticated_client.get(f"/api/teams/{team.id}/events/campaign/{campaign.id}")).json()
    moves = [e["changes"]["status"] for e in history["items"] if e["event_type"] == "status_changed"]
    assert moves[0] == {"old": "completed", "new": "archived"}
    assert len(moves) == 5


async def test_update_is_declarative_and_versioned(authenticated_client: ApiClient, team) -> None:
    campaign = await CampaignFactory.create_async(team_id=team.id, name="Old")
    url = campaigns_url(team.id, campaign.id)
    current = (await authenticated_client.get(url)).json()
    assert (await authenticated_client.put(url, json={"name": "New", "version": 1})).status_code == 400

    updated = await authenticated_client.put(url, json=update_body(current, name="New", budget="99.9"))
    assert updated.status_code == 200, updated.text
    assert (updated.json()["name"], updated.json()["budget"], updated.json()["version"]) == (
        "New",
        "99.90",
        2,
    )

    stale = await authenticated_client.put(url, json=update_body(current, name="Lost"))
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    bad_dates = await authenticated_client.put(
        url, json=update_body(updated.json(), start_date="2027-01-02", end_date="2027-01-01")
    )
    assert bad_dates.status_code == 400
    assert (await authenticated_client.get(url)).json()["name"] == "New"

    history = (await authenticated_client.get(f"/api/teams/{team.id}/events/campaign/{campaign.id}")).json()
    assert history["items"][0]["changes"]["budget"] == {"old": "10000.00", "new": "99.90"}


async def test_list_filters_sorts_and_paginates(authenticated_client: ApiClient, team) -> None:
    brand = await BrandFactory.create_async(team_id=team.id)
    await CampaignFactory.create_async(team_id=team.id, name="Alpha", brand_id=brand.id, budget=300)
    await CampaignFactory.create_async(
        team_id=team.id, name="beta", status="active", budget=100, start_date=None, end_date=None
    )
    await CampaignFactory.create_async(
        team_id=team.id, name="Gamma", status="active", budget=200, start_date=date(2027, 2, 1), end_date=None
    )
    url = campaigns_url(team.id)

    page = (await authenticated_client.get(url + "?limit=2")).json()
    assert ([c["name"] for c in page["items"]], page["total"]) == (["Alpha", "beta"], 3)
    active = (await authenticated_client.get(url + "?status=active")).json()
    assert [c["name"] for c in active["items"]] == ["beta", "Gamma"]
    by_brand = (await authenticated_client.get(url + f"?brand_id={brand.id}")).json()
    assert [c["name"] for c in by_brand["items"]] == ["Alpha"]
    later = (await authenticated_client.get(url + "?start_after=2027-01-01")).json()
    assert [c["name"] for c in later["items"]] == ["Gamma"]
    cheapest = (await authenticated_client.get(url + "?sort=budget&limit=1")).json()
    assert cheapest["items"][0]["name"] == "beta"
    assert (await authenticated_client.get(url + "?q=AMM")).json()["total"] == 1
    assert (await authenticated_client.get(url + "?status=lost")).status_code == 400
    assert (await authenticated_client.get(url + "?start_after=someday")).status_code == 400


async def test_delete_needs_admin_and_cascades_to_bookings_not_creators(
    multi_team_setup: MultiTeamSetup, db_session: AsyncSession
) -> None:
    a = multi_team_setup.a
    campaign = await CampaignFactory.create_async(team_id=a.team.id)
    booking = await CampaignCreatorFactory.book(campaign)
    url = campaigns_url(a.team.id, campaign.id)
    assert (await a.member_client.delete(url)).status_code == 403
    assert (await a.owner_client.delete(url)).status_code == 204
    assert (await a.owner_client.get(url)).status_code == 404
    set_tenant(db_session, TenantContext(team_id=a.team.id))
    assert (await db_session.execute(text("SELECT count(*) FROM campaign_creators"))).scalar_one() == 0
    creators = await db_session.execute(
        text("SELECT count(*) FROM creators WHERE id = :id"), {"id": booking.creator_id}
    )
    assert creators.scalar_one() == 1


async def test_book_creators_on_a_campaign(authenticated_client: ApiClient, team) -> None:
    campaign = await CampaignFactory.create_async(team_id=team.id)
    creator = await CreatorFactory.create_async(team_id=team.id, name="Ada")
    url = bookings_url(team.id, campaign.id)

    booked = await authenticated_client.post(url, json={"creator_id": str(creator.id), "agreed_fee": "750"})
    assert booked.status_code == 201, booked.text
    booking = booked.json()
    assert (booking["creator_name"], booking["agreed_fee"], booking["deliverables"]) == (
        "Ada",
        "750.00",
        None,
    )
    assert (
        await authenticated_client.get(bookings_url(team.id, campaign.id, booking["id"]))
    ).json() == booking

    again = await authenticated_client.post(url, json={"creator_id": str(creator.id), "agreed_fee": "1"})
    assert again.status_code == 409
    assert "already on this campaign" in again.json()["detail"]

    listed = (await authenticated_client.get(url)).json()
    assert [b["creator_name"] for b in listed["items"]] == ["Ada"]


async def test_booking_rejects_bad_input_and_unknown_creators(multi_team_setup: MultiTeamSetup) -> None:
    a, b = multi_team_setup.a, multi_team_setup.b
    campaign = await CampaignFactory.create_async(team_id=a.team.id)
    foreign = await CreatorFactory.create_async(team_id=b.team.id)
    archived = await CreatorFactory.create_async(
        team_id=a.team.id, archived_at=datetime(2026, 1, 1, tzinfo=UTC)
    )
    url = bookings_url(a.team.id, campaign.id)
    for creator_id in (foreign.id, archived.id):
        response = await a.owner_client.post(url, json={"creator_id": str(creator_id), "agreed_fee": "1"})
        assert response.status_code == 422
        assert response.json()["errors"][0]["key"] == "creator_id"
    own = await CreatorFactory.create_async(team_id=a.team.id)
    for body in ({"creator_id": str(own.id)}, {"creator_id": str(own.id), "agreed_fee": "1.234"}):
        assert (await a.owner_client.post(url, json=body)).status_code == 400
    assert (await a.owner_client.get(url)).json()["total"] == 0


async def test_update_and_remove_a_booking(authenticated_client: ApiClient, team) -> None:
    campaign = await CampaignFactory.create_async(team_id=team.id)
    booking = await CampaignCreatorFactory.book(campaign)
    url = bookings_url(team.id, campaign.id, booking.id)
    body = {"agreed_fee": "900.00", "deliverables": "2 reels", "version": 1}
    updated = await authenticated_client.put(url, json=body)
    assert updated.status_code == 200, updated.text
    assert (updated.json()["agreed_fee"], updated.json()["version"]) == ("900.00", 2)
    assert (await authenticated_client.put(url, json=body)).status_code == 409
    assert (
        await authenticated_client.put(url, json={**body, "creator_id": str(booking.creator_id)})
    ).status_code == 400

    assert (await authenticated_client.delete(url)).status_code == 204
    assert (await authenticated_client.get(url)).status_code == 404
    creator = await authenticated_client.get(f"/api/teams/{team.id}/creators/{booking.creator_id}")
    assert creator.status_code == 200
    assert (await authenticated_client.get(campaigns_url(team.id, campaign.id))).status_code == 200


async def test_a_booked_creator_cannot_be_deleted_but_can_be_archived(
    authenticated_client: ApiClient, team
) -> None:
    campaign = await CampaignFactory.create_async(team_id=team.id)
    booking = await CampaignCreatorFactory.book(campaign)
    response = await authenticated_client.delete(f"/api/teams/{team.id}/creators/{booking.creator_id}")
    assert response.status_code == 409
    assert "archive" in response.json()["detail"]
    assert (
        await authenticated_client.get(f"/api/teams/{team.id}/creators/{booking.creator_id}")
    ).status_code == 200


async def test_another_teams_user_gets_404_and_no_data(multi_team_setup: MultiTeamSetup) -> None:
    a, b = multi_team_setup.a, multi_team_setup.b
    campaign = await CampaignFactory.create_async(team_id=b.team.id, name="Secret Campaign")
    booking = await CampaignCreatorFactory.book(campaign)
    own_brand = await BrandFactory.create_async(team_id=a.team.id)
    update = {
        "name": "Hacked",
        "brand_id": str(own_brand.id),
        "status": "draft",
        "budget": "1",
        "currency": "EUR",
        "start_date": None,
        "end_date": None,
        "description": None,
        "version": 1,
    }
    booking_update = {"agreed_fee": "1", "deliverables": None, "version": 1}
    attempts = []
    for team_id in (b.team.id, a.team.id):
        attempts += [
            ("GET", campaigns_url(team_id, campaign.id), None),
            ("PUT", campaigns_url(team_id, campaign.id), update),
            ("DELETE", campaigns_url(team_id, campaign.id), None),
            ("GET", bookings_url(team_id, campaign.id), None),
            (
                "POST",
                bookings_url(team_id, campaign.id),
                {"creator_id": str(booking.creator_id), "agreed_fee": "1"},
            ),
            ("GET", bookings_url(team_id, campaign.id, booking.id), None),
            ("PUT", bookings_url(team_id, campaign.id, booking.id), booking_update),
            ("DELETE", bookings_url(team_id, campaign.id, booking.id), None),
        ]
    attempts += [("GET", campaigns_url(b.team.id), None), ("POST", campaigns_url(b.team.id), update)]
    for method, url, payload in attempts:
        response = await a.owner_client.request(method, url, json=payload)
        assert response.status_code == 404, (method, url, response.text)
        assert "Secret Campaign" not in response.text
    assert (await a.owner_client.get(campaigns_url(a.team.id))).json()["items"] == []
    assert (await b.owner_client.get(campaigns_url(b.team.id, campaign.id))).json()[
        "name"
    ] == "Secret Campaign"
    assert (await b.owner_client.get(bookings_url(b.team.id, campaign.id))).json()["total"] == 1


async def test_lists_cost_a_constant_number_of_queries(
    authenticated_client: ApiClient, team, query_counter
) -> None:
    campaign = await CampaignFactory.create_async(team_id=team.id)
    await CampaignCreatorFactory.book(campaign)
    query_counter.reset()
    await authenticated_client.get(campaigns_url(team.id) + "?limit=100")
    campaigns_with_one = query_counter.count
    query_counter.reset()
    await authenticated_client.get(bookings_url(team.id, campaign.id) + "?limit=100")
    bookings_with_one = query_counter.count

    for _ in range(10):
        await CampaignFactory.create_async(team_id=team.id, brand_id=campaign.brand_id)
        await CampaignCreatorFactory.book(campaign)
    query_counter.reset()
    assert (await authenticated_client.get(campaigns_url(team.id) + "?limit=100")).json()["total"] == 11
    assert query_counter.count == campaigns_with_one <= 3
    query_counter.reset()
    assert (await authenticated_client.get(bookings_url(team.id, campaign.id) + "?limit=100")).json()[
        "total"
    ] == 11
    assert query_counter.count == bookings_with_one <= 4  # plus the campaign's visibility check


async def test_a_brand_with_campaigns_cannot_be_deleted(authenticated_client: ApiClient, team) -> None:
    campaign = await CampaignFactory.create_async(team_id=team.id)
    response = await authenticated_client.delete(f"/api/teams/{team.id}/brands/{campaign.brand_id}")
    assert response.status_code == 409
    assert "has campaigns" in response.json()["detail"]
    assert (
        await authenticated_client.get(f"/api/teams/{team.id}/brands/{campaign.brand_id}")
    ).status_code == 200


async def test_a_finished_campaign_takes_no_new_bookings(authenticated_client: ApiClient, team) -> None:
    for status in ("completed", "archived", "active"):
        campaign = await CampaignFactory.create_async(team_id=team.id, status=status)
        creator = await CreatorFactory.create_async(team_id=team.id)
        url = bookings_url(team.id, campaign.id)
        response = await authenticated_client.post(
            url, json={"creator_id": str(creator.id), "agreed_fee": "10"}
        )
        if status == "active":
            assert response.status_code == 201, response.text
            assert (await authenticated_client.get(url)).json()["total"] == 1
            continue
        assert response.status_code == 409, (status, response.text)
        assert response.json()["campaign_status"] == status
        assert f"This campaign is {status}" in response.json()["detail"]
        assert "creator bookings" in response.json()["detail"]
        assert (await authenticated_client.get(url)).json()["total"] == 0, status


async def test_a_completed_campaigns_bookings_still_update_an_archived_ones_are_read_only(
    authenticated_client: ApiClient, team
) -> None:
    completed = await CampaignFactory.create_async(team_id=team.id, status="completed")
    booking = await CampaignCreatorFactory.book(completed)
    url = bookings_url(team.id, completed.id, booking.id)
    fee = await authenticated_client.put(
        url, json={"agreed_fee": "650.00", "deliverables": None, "version": 1}
    )
    assert fee.status_code == 200, fee.text
    assert (await authenticated_client.delete(url)).status_code == 204

    archived = await CampaignFactory.create_async(team_id=team.id, status="archived")
    booking = await CampaignCreatorFactory.book(archived)
    url = bookings_url(team.id, archived.id, booking.id)
    before = (await authenticated_client.get(url)).json()
    update = {"agreed_fee": "1.00", "deliverables": None, "version": 1}
    for method, payload in (("PUT", update), ("DELETE", None)):
        response = await authenticated_client.request(method, url, json=payload)
        assert response.status_code == 409, (method, response.text)
        assert response.json()["campaign_status"] == "archived"
        assert "archived, so its creator bookings are read-only" in response.json()["detail"]
    assert (await authenticated_client.get(url)).json() == before


async def test_a_write_holds_the_campaign_status_until_it_commits(app, team, user) -> None:
    """Adding or changing work share-locks the campaign row: it cannot be archived under the write."""
    campaign = await CampaignFactory.create_async(team_id=team.id, status="active")
    booking = await CampaignCreatorFactory.book(campaign)
    context = TenantContext(user_id=user.id, team_id=team.id)

    async def archive(*, lock_timeout: str) -> None:
        async with tenant_session(app.state.session_maker, context) as archiver:
            await archiver.execute(text(f"SET LOCAL lock_timeout = '{lock_timeout}'"))
            await archiver.execute(
                text("UPDATE campaigns SET status = 'archived' WHERE id = :id"), {"id": campaign.id}
            )

    writes: list[Callable[[AsyncSession], Awaitable[Any]]] = [
        lambda s: TodoService(session=s).create_todo(
            campaign.id, actor_id=user.id, data=TodoCreate(title="Last")
        ),
        lambda s: CampaignCreatorService(session=s).update_booking(
            campaign.id,
            booking.id,
            actor_id=user.id,
            data=CampaignCreatorUpdate(agreed_fee=Decimal("1.00"), deliverables=None, version=1),
        ),
    ]
    for write in writes:
        async with tenant_session(app.state.session_maker, context) as writer:
            await write(writer)
            with pytest.raises(DBAPIError, match="lock timeout"):
                await archive(lock_timeout="100ms")

    await archive(lock_timeout="60s")  # released now: it is granted at once, 60 s is a ceiling
    async with tenant_session(app.state.session_maker, context) as session:
        with pytest.raises(ConflictError):
            await writes[0](session)
