"""Declarative bases. Inheriting one is the whole tenancy declaration of a model.

- `AuditBase`: UUIDv7 primary key plus `created_at` / `updated_at` (no tenant; e.g. users).
- `TeamScopedBase`: rows carry `team_id`; RLS shows only the current team's rows.
- `CampaignScopedBase`: rows carry `campaign_id` and `team_id`; a composite foreign key to
  `campaigns(id, team_id)` keeps the two consistent, and RLS can narrow to some campaigns.
- `MaybeCampaignScopedBase`: like `CampaignScopedBase` with `campaign_id` nullable, for rows
  about either a team-level object or a campaign's (threads): a campaign guest sees only the
  rows of their campaigns, never the team-level ones.

Subclasses may set `__rls_policy__` to a custom `RlsPolicy` (teams and memberships do).
"""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from sqlalchemy import ForeignKey, ForeignKeyConstraint, Integer
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from app.db.rls import CAMPAIGN_POLICY, TEAM_POLICY, RlsPolicy, declare_policy


class AuditBase(UUIDv7AuditBase):
    """UUIDv7 key (ordered, index friendly) and audit timestamps."""

    __abstract__ = True


class RowLevelSecured:
    """Records the class's `__rls_policy__` for its table, where autogenerate and tests find it."""

    __rls_policy__: ClassVar[RlsPolicy | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table = cls.__dict__.get("__table__")
        if table is not None and cls.__rls_policy__ is not None:
            declare_policy(table, cls.__rls_policy__)


class VersionedMixin:
    """An integer `version` bumped on every UPDATE; SQLAlchemy adds `AND version = :seen` to it.

    Clients send back the version they read; services compare it first (clear 409) and the
    versioned UPDATE catches the race between that check and the write.
    """

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, sort_order=3000)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}  # pyright: ignore[reportAttributeAccessIssue]


class TeamScopedBase(RowLevelSecured, AuditBase):
    __abstract__ = True
    __rls_policy__ = TEAM_POLICY

    @declared_attr
    def team_id(cls) -> Mapped[UUID]:
        return mapped_column(
            ForeignKey("teams.id", ondelete="CASCADE"), nullable=False, index=True, sort_order=-90
        )


class CampaignScopedBase(RowLevelSecured, AuditBase):
    __abstract__ = True
    __rls_policy__ = CAMPAIGN_POLICY
    __extra_table_args__: ClassVar[tuple[Any, ...]] = ()
    """Constraints and indexes a subclass adds next to the composite foreign key."""

    team_id: Mapped[UUID] = mapped_column(nullable=False, index=True, sort_order=-90)
    campaign_id: Mapped[UUID] = mapped_column(nullable=False, index=True, sort_order=-80)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (
            ForeignKeyConstraint(
                ["campaign_id", "team_id"],
                ["campaigns.id", "campaigns.team_id"],
                ondelete="CASCADE",
            ),
            *cls.__extra_table_args__,
        )


class MaybeCampaignScopedBase(RowLevelSecured, AuditBase):
    __abstract__ = True
    __rls_policy__ = CAMPAIGN_POLICY
    """With `campaign_id` null, `campaign_id = ANY (...)` is null: a guest's narrowed context
    sees none of the team-level rows, members see them all."""
    __extra_table_args__: ClassVar[tuple[Any, ...]] = ()

    team_id: Mapped[UUID] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), nullable=False, index=True, sort_order=-90
    )
    campaign_id: Mapped[UUID | None] = mapped_column(nullable=True, index=True, sort_order=-80)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (
            ForeignKeyConstraint(
                ["campaign_id", "team_id"],
                ["campaigns.id", "campaigns.team_id"],
                ondelete="CASCADE",
            ),
            *cls.__extra_table_args__,
        )
