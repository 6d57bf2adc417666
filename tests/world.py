"""A team with one of everything, for sweeps over every operation with real ids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.lib.roles import TeamRole
from tests.conftest import ApiClient
from tests.factories import (
    BrandFactory,
    CampaignCreatorFactory,
    CampaignFactory,
    CampaignGuestAccessFactory,
    CreatorFactory,
    PostFactory,
    TeamFactory,
    TeamMemberFactory,
    TodoFactory,
    UserFactory,
)


@dataclass
class World:
    owner: ApiClient
    bystander: ApiClient
    """Another signed-in user (no team): for operations that end its own sessions."""
    ids: dict[str, str]

    def url(self, path: str) -> str:
        return path.format(**self.ids)


async def build_world(client_for: Any) -> World:
    owner_user = await UserFactory.create_async()
    team = await TeamFactory.create_with_owner(owner_user)
    guest = await UserFactory.create_async()
    await TeamMemberFactory.create_async(team_id=team.id, user_id=guest.id, role=TeamRole.GUEST)
    brand = await BrandFactory.create_async(team_id=team.id)
    creator = await CreatorFactory.create_async(team_id=team.id)
    campaign = await CampaignFactory.create_async(team_id=team.id, brand_id=brand.id)
    booking = await CampaignCreatorFactory.book(campaign, creator)
    post = await PostFactory.for_booking(booking)
    todo = await TodoFactory.for_campaign(campaign)
    await CampaignGuestAccessFactory.create_async(team_id=team.id, campaign_id=campaign.id, user_id=guest.id)
    owner = client_for(owner_user)
    invitation = await owner.post(
        f"/api/teams/{team.id}/invitations", json={"email": "invited@example.com", "role": "member"}
    )
    assert invitation.status_code == 201, invitation.text
    message = await owner.post(
        f"/api/teams/{team.id}/threads/post/{post.id}/messages", json={"body": "A first word."}
    )
    assert message.status_code == 201, message.text
    ids = {
        "team_id": team.id,
        "brand_id": brand.id,
        "creator_id": creator.id,
        "campaign_id": campaign.id,
        "campaign_creator_id": booking.id,
        "post_id": post.id,
        "todo_id": todo.id,
        "user_id": guest.id,
        "invitation_id": invitation.json()["id"],
        "object_type": "post",  # threadable and with actions
        "object_id": post.id,
        "message_id": message.json()["id"],
        "action_name": "approve",
    }
    bystander = client_for(await UserFactory.create_async())
    return World(owner=owner, bystander=bystander, ids={k: str(v) for k, v in ids.items()})
