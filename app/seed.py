"""Demo data for a fresh development database: `make seed` (`python -m app.cli seed`).

One demo team with brands, a roster, campaigns in every status with booked creators, posts in
every review status and to-dos. Everything goes through the services, as the demo user, so
RLS holds and the team feed has the whole story. Skipped when the demo user already exists.
Like `metadata.py`, this module imports every domain; nothing in `app` imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

import msgspec

from app.brands.services import BrandService
from app.campaigns.bookings import CampaignCreatorService
from app.campaigns.schemas import (
    CampaignCreate,
    CampaignCreatorCreate,
    CampaignRead,
    CampaignStatus,
    CampaignUpdate,
)
from app.campaigns.services import CampaignService
from app.db.engine import SessionMaker, tenant_session
from app.db.tenancy import TenantContext, apply_tenant_now
from app.lib.crypto import Passwords
from app.posts.schemas import PostCreate, PostRead, PostStatus, PostUpdate
from app.posts.services import PostService
from app.roster.schemas import CreatorCreate, Platform
from app.roster.services import CreatorService
from app.teams.services import TeamService
from app.todos.schemas import TodoCreate, TodoRead, TodoStatus, TodoUpdate
from app.todos.services import TodoService
from app.users.services import UserService

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password-123"

UpdateT = TypeVar("UpdateT", bound=msgspec.Struct)

CAMPAIGN_PATHS: dict[CampaignStatus, tuple[CampaignStatus, ...]] = {
    CampaignStatus.DRAFT: (),
    CampaignStatus.ACTIVE: (CampaignStatus.ACTIVE,),
    CampaignStatus.PAUSED: (CampaignStatus.ACTIVE, CampaignStatus.PAUSED),
    CampaignStatus.COMPLETED: (CampaignStatus.ACTIVE, CampaignStatus.COMPLETED),
    CampaignStatus.ARCHIVED: (CampaignStatus.ACTIVE, CampaignStatus.COMPLETED, CampaignStatus.ARCHIVED),
}
POST_PATHS: dict[PostStatus, tuple[PostStatus, ...]] = {
    PostStatus.DRAFT: (),
    PostStatus.SUBMITTED: (PostStatus.SUBMITTED,),
    PostStatus.CHANGES_REQUESTED: (PostStatus.SUBMITTED, PostStatus.CHANGES_REQUESTED),
    PostStatus.APPROVED: (PostStatus.SUBMITTED, PostStatus.APPROVED),
    PostStatus.SCHEDULED: (PostStatus.SUBMITTED, PostStatus.APPROVED, PostStatus.SCHEDULED),
    PostStatus.PUBLISHED: (PostStatus.SUBMITTED, PostStatus.APPROVED, PostStatus.PUBLISHED),
}


@dataclass(frozen=True)
class SeedResult:
    email: str
    password: str
    team_id: UUID


def _update(read: msgspec.Struct, update_type: type[UpdateT], **changes: Any) -> UpdateT:
    """The declarative update that keeps everything as read, except `changes`."""
    fields = msgspec.structs.asdict(read)
    return update_type(
        **{name: changes.get(name, fields.get(name)) for name in update_type.__struct_fields__}
    )


async def seed_demo(session_maker: SessionMaker, passwords: Passwords) -> SeedResult | None:
    """Create the demo team; `None` when the demo user exists already (nothing is changed).

    One transaction: a failure leaves nothing behind, so the next run starts clean.
    """
    async with tenant_session(session_maker, None) as session:
        users = UserService(session=session)
        if await users.repository.email_taken(DEMO_EMAIL):  # shows the demo account, if any (RLS)
            return None
        user = await users.register(
            email=DEMO_EMAIL, password=DEMO_PASSWORD, name="Demo Manager", passwords=passwords
        )
        await apply_tenant_now(session, TenantContext(user_id=user.id))
        team = await TeamService(session=session).create_team(
            name="Demo Agency", description="Seeded demo data.", owner_id=user.id
        )
        await apply_tenant_now(session, TenantContext(user_id=user.id, team_id=team.id))
        await _fill_team(session, team.id, user.id)
    return SeedResult(email=DEMO_EMAIL, password=DEMO_PASSWORD, team_id=team.id)


async def _fill_team(session: Any, team_id: UUID, user_id: UUID) -> None:
    brands = BrandService(session=session)
    acme = await brands.create_brand(
        team_id=team_id,
        actor_id=user_id,
        name="Acme Outdoor",
        website="https://acme.example",
        description=None,
    )
    nova = await brands.create_brand(
        team_id=team_id, actor_id=user_id, name="Nova Cosmetics", website=None, description="Skincare."
    )
    roster = CreatorService(session=session)
    creators = [
        await roster.create_creator(
            team_id=team_id,
            actor_id=user_id,
            data=CreatorCreate(
                name=name,
                handles={platform: handle},
                follower_counts={platform: followers},
                contact_email=f"{handle.strip('@')}@creators.example",
                tags=tags,
            ),
        )
        for name, platform, handle, followers, tags in (
            ("Ada Trails", Platform.INSTAGRAM, "@adatrails", 182_000, ["outdoor", "travel"]),
            ("Ben Glow", Platform.TIKTOK, "@benglow", 954_000, ["beauty"]),
            ("Chloe Climbs", Platform.YOUTUBE, "@chloeclimbs", 410_000, ["outdoor", "sport"]),
            ("Dev Daily", Platform.INSTAGRAM, "@devdaily", 56_000, ["lifestyle"]),
        )
    ]
    campaigns, bookings = CampaignService(session=session), CampaignCreatorService(session=session)
    posts, todos = PostService(session=session), TodoService(session=session)
    start = date.today()
    for index, status in enumerate(CampaignStatus):
        brand = acme if index % 2 == 0 else nova
        campaign: CampaignRead = await campaigns.create_campaign(
            team_id=team_id,
            actor_id=user_id,
            data=CampaignCreate(
                name=f"{brand.name} — {status.value.title()} campaign",
                brand_id=brand.id,
                budget=Decimal(5000 + 2500 * index),
                currency="EUR" if index < 4 else "USD",
                start_date=start + timedelta(days=7 * (index - 2)),
                end_date=start + timedelta(days=7 * (index + 2)),
                description=f"A demo campaign in the {status.value} status.",
            ),
        )
        booked = []
        for creator in creators[index % 2 :: 2]:
            await bookings.book_creator(
                campaign.id,
                actor_id=user_id,
                data=CampaignCreatorCreate(
                    creator_id=creator.id,
                    agreed_fee=Decimal(800 + 100 * index),
                    deliverables="1 post, 3 stories",
                ),
            )
            booked.append(creator)
        for post_index, post_status in enumerate(PostStatus):
            creator = booked[post_index % len(booked)]
            post: PostRead = await posts.create_post(
                campaign.id,
                actor_id=user_id,
                data=PostCreate(
                    creator_id=creator.id,
                    platform=next(iter(creator.handles)),
                    caption=f"Post {post_index + 1}",
                ),
            )
            for step in POST_PATHS[post_status]:
                changes: dict[str, Any] = {"status": step}
                if step is PostStatus.SCHEDULED:
                    changes["scheduled_at"] = datetime.now(tz=UTC) + timedelta(days=3)
                if step is PostStatus.PUBLISHED:
                    changes.update(
                        published_url=f"https://social.example/p/{post.id}", views=12_000, likes=900
                    )
                post = await posts.update_post(
                    campaign.id, post.id, actor_id=user_id, data=_update(post, PostUpdate, **changes)
                )
        for todo_index, (title, todo_status, due_in) in enumerate(
            (
                ("Send the brief", TodoStatus.DONE, -5),
                ("Review drafts", TodoStatus.IN_PROGRESS, 2),
                ("Pay invoices", TodoStatus.OPEN, -1),
            )
        ):
            todo: TodoRead = await todos.create_todo(
                campaign.id,
                actor_id=user_id,
                data=TodoCreate(
                    title=title,
                    assignee_id=user_id if todo_index != 1 else None,
                    due_date=start + timedelta(days=due_in),
                ),
            )
            if todo_status is not TodoStatus.OPEN:
                await todos.update_todo(
                    campaign.id, todo.id, actor_id=user_id, data=_update(todo, TodoUpdate, status=todo_status)
                )
        for step in CAMPAIGN_PATHS[status]:
            campaign = await campaigns.update_campaign(
                campaign.id, actor_id=user_id, data=_update(campaign, CampaignUpdate, status=step)
            )
