from __future__ import annotations

from datetime import date
from decimal import Decimal

from app.campaigns.schemas import CampaignStatus
from app.lib.schema import Schema
from app.posts.schemas import PostStatus


class CurrencyTotals(Schema):
    currency: str
    budget: Decimal
    committed: Decimal
    spent: Decimal
    remaining: Decimal


class MediaStorage(Schema):
    used_bytes: int
    """Bytes of the team's ready and in-flight media files."""
    files: int
    quota_bytes: int


class TeamDashboard(Schema):
    campaigns_by_status: dict[CampaignStatus, int]
    """Every status, zero included."""
    posts_by_status: dict[PostStatus, int]
    money: list[CurrencyTotals]
    """One entry per currency used by a campaign that is not archived, by currency code."""
    overdue_todos: int
    storage: MediaStorage
    """The team's media storage against its quota (as GetTeamStorageUsage)."""
    as_of: date
    """The day (UTC) overdue is measured against."""
