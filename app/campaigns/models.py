from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import CampaignScopedBase, TeamScopedBase, VersionedMixin
from app.db.rls import CURRENT_CAMPAIGN_IDS, CURRENT_TEAM_ID, RlsPolicy
from app.db.threadable import ThreadableMixin

CAMPAIGN_STATUSES = ("draft", "active", "paused", "completed", "archived")
MONEY = Numeric(14, 2)


class Campaign(ThreadableMixin, VersionedMixin, TeamScopedBase):
    __tablename__ = "campaigns"
    __thread_object_type__ = "campaign"
    __thread_campaign_key__ = "id"
    __rls_policy__ = RlsPolicy(
        name="campaign_visibility",
        using=(
            f"team_id = {CURRENT_TEAM_ID} AND ({CURRENT_CAMPAIGN_IDS} IS NULL"
            f" OR id = ANY (string_to_array({CURRENT_CAMPAIGN_IDS}, ',')::uuid[]))"
        ),
    )
    """The team policy, narrowed to a guest's campaigns (the same rule as `CAMPAIGN_POLICY`, on `id`)."""
    __table_args__ = (
        UniqueConstraint("id", "team_id", name="uq_campaigns_id_team"),
        CheckConstraint(
            "status IN (" + ", ".join(f"'{value}'" for value in CAMPAIGN_STATUSES) + ")",
            name="status_valid",
        ),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso4217"),
        CheckConstraint("budget >= 0", name="budget_not_negative"),
        CheckConstraint(
            "end_date IS NULL OR start_date IS NULL OR end_date >= start_date", name="dates_ordered"
        ),
    )

    name: Mapped[str] = mapped_column(String(200))
    brand_id: Mapped[UUID] = mapped_column(ForeignKey("brands.id", ondelete="RESTRICT"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    budget: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    start_date: Mapped[date | None] = mapped_column(Date, default=None)
    end_date: Mapped[date | None] = mapped_column(Date, default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)


Index("ix_campaigns_team_status", Campaign.team_id, Campaign.status)
Index("ix_campaigns_team_name", Campaign.team_id, func.lower(Campaign.name))


class CampaignCreator(VersionedMixin, CampaignScopedBase):
    __tablename__ = "campaign_creators"

    __extra_table_args__ = (
        UniqueConstraint("campaign_id", "creator_id"),
        CheckConstraint("agreed_fee >= 0", name="agreed_fee_not_negative"),
    )

    # Deferrable: DeleteTeam checks it at commit, after all its cascades (migration 0015).
    creator_id: Mapped[UUID] = mapped_column(ForeignKey("creators.id", deferrable=True), index=True)
    agreed_fee: Mapped[Decimal] = mapped_column(MONEY)
    deliverables: Mapped[str | None] = mapped_column(Text, default=None)


class CampaignGuestAccess(TeamScopedBase):
    __tablename__ = "campaign_guest_access"
    __table_args__ = (
        ForeignKeyConstraint(
            ["campaign_id", "team_id"], ["campaigns.id", "campaigns.team_id"], ondelete="CASCADE"
        ),
        # A grant lives only as long as the membership: leaving or being removed ends it.
        ForeignKeyConstraint(
            ["team_id", "user_id"], ["team_members.team_id", "team_members.user_id"], ondelete="CASCADE"
        ),
        UniqueConstraint("campaign_id", "user_id"),
    )

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[UUID] = mapped_column(index=True)
