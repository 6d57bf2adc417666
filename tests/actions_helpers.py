"""Helpers shared by the action tests: URLs and bodies of the action routes."""

from __future__ import annotations

from typing import Any

from tests.factories import CampaignCreatorFactory, CampaignFactory, CreatorFactory


def actions_url(team_id: Any, object_type: str, object_id: Any, action: str | None = None) -> str:
    base = f"/api/teams/{team_id}/actions/{object_type}/{object_id}"
    return f"{base}/{action}" if action else base


def bulk_url(team_id: Any, object_type: str, action: str) -> str:
    return f"/api/teams/{team_id}/bulk-actions/{object_type}/{action}"


def body(object_type: str, action: str, version: int, payload: dict | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"action": f"{object_type}.{action}", "version": version}
    if payload is not None:
        result["input"] = payload
    return result


async def booked_campaign(team_id: Any, **campaign: Any):
    campaign_row = await CampaignFactory.create_async(team_id=team_id, **campaign)
    booking = await CampaignCreatorFactory.book(
        campaign_row, await CreatorFactory.create_async(team_id=team_id)
    )
    return campaign_row, booking


def by_name(listing: dict) -> dict[str, dict]:
    return {item["name"]: item for item in listing["items"]}
