from __future__ import annotations

from uuid import UUID

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import AuditBase, RowLevelSecured, VersionedMixin
from app.db.rls import CURRENT_TEAM_ID, CURRENT_USER_ID, IS_PLATFORM_ADMIN, RlsPolicy
from app.lib.roles import TeamRole

ROLE_VALUES = ", ".join(f"'{role.value}'" for role in TeamRole)


class Team(RowLevelSecured, VersionedMixin, AuditBase):
    __tablename__ = "teams"
    __rls_policy__ = RlsPolicy(
        name="team_visibility",
        using=(
            f"id = {CURRENT_TEAM_ID} OR {IS_PLATFORM_ADMIN} OR EXISTS (SELECT 1 FROM team_members m "  # noqa: S608
            f"WHERE m.team_id = teams.id AND m.user_id = {CURRENT_USER_ID})"
        ),
        with_check=f"id = {CURRENT_TEAM_ID}",
    )

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, default=None)


class TeamMember(RowLevelSecured, AuditBase):
    __tablename__ = "team_members"
    __rls_policy__ = RlsPolicy(
        name="member_visibility",
        using=f"team_id = {CURRENT_TEAM_ID} OR user_id = {CURRENT_USER_ID}",
        with_check=f"team_id = {CURRENT_TEAM_ID}",
    )
    __table_args__ = (
        UniqueConstraint("team_id", "user_id"),
        CheckConstraint(f"role IN ({ROLE_VALUES})", name="role_valid"),
    )

    team_id: Mapped[UUID] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
