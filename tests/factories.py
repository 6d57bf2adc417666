"""Async factories that persist through the application role, inside the row's tenant context.

`BrandFactory.create_async(team_id=...)` inserts as `campaign_app` with `app.team_id` set, so a
factory can never write what the application itself could not.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, Generic, TypeVar
from uuid import UUID

from polyfactory import Ignore, Use
from polyfactory.factories.sqlalchemy_factory import SQLAlchemyFactory
from polyfactory.persistence import AsyncPersistenceProtocol
from uuid_utils.compat import uuid7

from app.brands.models import Brand
from app.campaigns.models import Campaign, CampaignCreator, CampaignGuestAccess
from app.db.base import AuditBase
from app.db.engine import SessionMaker, tenant_session
from app.db.tenancy import TenantContext
from app.lib.crypto import Passwords
from app.lib.roles import TeamRole
from app.posts.models import Post
from app.roster.models import Creator
from app.teams.models import Team, TeamMember
from app.todos.models import Todo
from app.users.models import User

DEFAULT_PASSWORD = "correct horse battery staple"
_passwords = Passwords(time_cost=1, memory_cost_kib=8192)
DEFAULT_PASSWORD_HASH = _passwords.hash(DEFAULT_PASSWORD)

ModelT = TypeVar("ModelT", bound=AuditBase)


class FactoryDatabase:
    """Set by the test session once the database is up."""

    session_maker: ClassVar[SessionMaker | None] = None


def _context_for(instance: AuditBase) -> TenantContext:
    if isinstance(instance, Team):
        return TenantContext(team_id=instance.id)
    if isinstance(instance, User):  # a user's row is written in their own context (RLS)
        if instance.id is None:
            instance.id = uuid7()
        return TenantContext(user_id=instance.id)
    team_id: UUID | None = getattr(instance, "team_id", None)
    return TenantContext(team_id=team_id)


class TenantPersistence(AsyncPersistenceProtocol[ModelT], Generic[ModelT]):
    async def save(self, data: ModelT) -> ModelT:
        return (await self.save_many([data]))[0]

    async def save_many(self, data: list[ModelT]) -> list[ModelT]:
        assert FactoryDatabase.session_maker is not None, "the database fixture is not active"
        for instance in data:
            async with tenant_session(FactoryDatabase.session_maker, _context_for(instance)) as session:
                session.add(instance)
        return data


class BaseFactory(Generic[ModelT], SQLAlchemyFactory[ModelT]):
    __is_base_factory__ = True
    __set_relationships__ = False
    __set_foreign_keys__ = False
    __async_persistence__ = TenantPersistence[Any]()
    id = Ignore()
    created_at = Ignore()
    updated_at = Ignore()


class UserFactory(BaseFactory[User]):
    __model__ = User
    email = Use(lambda: f"user-{UserFactory.__faker__.uuid4()[:12]}@example.com")
    name = Use(lambda: UserFactory.__faker__.name())
    password_hash = DEFAULT_PASSWORD_HASH
    is_active = True
    is_platform_admin = False
    email_verified_at = None
    session_epoch = 0
    google_subject = None


class TeamFactory(BaseFactory[Team]):
    __model__ = Team
    name = Use(lambda: f"{TeamFactory.__faker__.company()} team")
    description = None
    version = 1

    @classmethod
    async def create_with_owner(cls, owner: User, **kwargs: Any) -> Team:
        from uuid_utils.compat import uuid7

        team = await cls.create_async(id=uuid7(), **kwargs)
        await TeamMemberFactory.create_async(team_id=team.id, user_id=owner.id, role=TeamRole.OWNER)
        return team


class TeamMemberFactory(BaseFactory[TeamMember]):
    __model__ = TeamMember
    role = TeamRole.MEMBER


class BrandFactory(BaseFactory[Brand]):
    __model__ = Brand
    name = Use(lambda: f"{BrandFactory.__faker__.company()} {BrandFactory.__faker__.uuid4()[:6]}")
    website = Use(lambda: f"https://{BrandFactory.__faker__.domain_name()}")
    description = Use(lambda: BrandFactory.__faker__.sentence())
    version = 1


class CreatorFactory(BaseFactory[Creator]):
    __model__ = Creator
    name = Use(lambda: f"{CreatorFactory.__faker__.name()} {CreatorFactory.__faker__.uuid4()[:4]}")
    handles = Use(lambda: {"instagram": f"@{CreatorFactory.__faker__.user_name()}"})
    follower_counts = Use(lambda: {"instagram": CreatorFactory.__faker__.random_int(1_000, 1_000_000)})
    contact_email = None
    tags = Use(list)
    notes = None
    archived_at = None
    version = 1


class CampaignFactory(BaseFactory[Campaign]):
    """`create_async(team_id=...)` also creates a brand for it unless `brand_id` is given."""

    __model__ = Campaign
    name = Use(lambda: f"{CampaignFactory.__faker__.catch_phrase()} {CampaignFactory.__faker__.uuid4()[:4]}")
    status = "draft"
    budget = Decimal("10000.00")
    currency = "EUR"
    start_date = date(2026, 12, 1)
    end_date = date(2026, 12, 31)
    description = None
    version = 1

    @classmethod
    async def create_async(cls, **kwargs: Any) -> Campaign:
        if "brand_id" not in kwargs:
            kwargs["brand_id"] = (await BrandFactory.create_async(team_id=kwargs["team_id"])).id
        return await super().create_async(**kwargs)


class CampaignCreatorFactory(BaseFactory[CampaignCreator]):
    """`create_async(campaign=..., creator=...)` books a creator (made up when not given)."""

    __model__ = CampaignCreator
    agreed_fee = Decimal("500.00")
    deliverables = "1 reel"
    version = 1

    @classmethod
    async def book(cls, campaign: Campaign, creator: Creator | None = None, **kwargs: Any) -> CampaignCreator:
        creator = creator or await CreatorFactory.create_async(team_id=campaign.team_id)
        return await cls.create_async(
            team_id=campaign.team_id, campaign_id=campaign.id, creator_id=creator.id, **kwargs
        )


class CampaignGuestAccessFactory(BaseFactory[CampaignGuestAccess]):
    __model__ = CampaignGuestAccess


class PostFactory(BaseFactory[Post]):
    """`for_booking(booking)` plans a draft post for a booked creator."""

    __model__ = Post
    platform = "instagram"
    caption = Use(lambda: PostFactory.__faker__.sentence())
    status = "draft"
    scheduled_at = None
    published_at = None
    published_url = None
    views = 0
    likes = 0
    comments = 0
    shares = 0
    version = 1

    @classmethod
    async def for_booking(cls, booking: CampaignCreator, **kwargs: Any) -> Post:
        return await cls.create_async(
            team_id=booking.team_id, campaign_id=booking.campaign_id, creator_id=booking.creator_id, **kwargs
        )


class TodoFactory(BaseFactory[Todo]):
    """`for_campaign(campaign, ...)` adds an open to-do."""

    __model__ = Todo
    title = Use(lambda: TodoFactory.__faker__.sentence(nb_words=4))
    description = None
    assignee_id = None
    due_date = None
    status = "open"
    post_id = None
    version = 1

    @classmethod
    async def for_campaign(cls, campaign: Campaign, **kwargs: Any) -> Todo:
        return await cls.create_async(team_id=campaign.team_id, campaign_id=campaign.id, **kwargs)
