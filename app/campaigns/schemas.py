from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from app.lib.money import Currency, Money
from app.lib.schema import LongText, Name, Schema, Version


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    ARCHIVED = "archived"


class CampaignCreate(Schema):
    """A new campaign starts as `draft`."""

    name: Name
    brand_id: UUID
    budget: Money
    currency: Currency
    start_date: date | None = None
    end_date: date | None = None
    """Not before `start_date`."""
    description: LongText | None = None


class CampaignUpdate(Schema):
    """Declarative: send every field, and the `version` you read. `status` moves along the allowed transitions."""

    name: Name
    brand_id: UUID
    status: CampaignStatus
    budget: Money
    currency: Currency
    start_date: date | None
    end_date: date | None
    description: LongText | None
    version: Version


class CampaignRead(Schema):
    id: UUID
    team_id: UUID
    name: str
    brand_id: UUID
    status: CampaignStatus
    budget: Decimal
    currency: str
    start_date: date | None
    end_date: date | None
    description: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class CampaignList(Schema):
    items: list[CampaignRead]
    total: int
    limit: int
    offset: int


class CampaignSort(StrEnum):
    NAME = "name"
    START_DATE = "start_date"
    END_DATE = "end_date"
    BUDGET = "budget"
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"


class CampaignCreatorCreate(Schema):
    creator_id: UUID
    agreed_fee: Money
    """In the campaign's currency."""
    deliverables: LongText | None = None


class CampaignCreatorUpdate(Schema):
    """Declarative: send every field, and the `version` you read. The creator of a booking is fixed."""

    agreed_fee: Money
    deliverables: LongText | None
    version: Version


class CampaignCreatorRead(Schema):
    id: UUID
    team_id: UUID
    campaign_id: UUID
    creator_id: UUID
    creator_name: str
    agreed_fee: Decimal
    deliverables: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class CampaignCreatorList(Schema):
    items: list[CampaignCreatorRead]
    total: int
    limit: int
    offset: int


class CampaignCreatorSort(StrEnum):
    CREATOR_NAME = "creator_name"
    AGREED_FEE = "agreed_fee"
    CREATED_AT = "created_at"


class CampaignGuestGrant(Schema):
    user_id: UUID
    """A team member whose role is `guest`."""


class CampaignGuestRead(Schema):
    user_id: UUID
    email: str
    name: str
    campaign_id: UUID
    granted_at: datetime


class CampaignGuestList(Schema):
    items: list[CampaignGuestRead]
    total: int
    limit: int
    offset: int
