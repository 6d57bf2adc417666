from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import AuditBase, RowLevelSecured, VersionedMixin
from app.db.rls import (
    CURRENT_INVITATION_TOKEN,
    CURRENT_TEAM_ID,
    CURRENT_USER_ID,
    IS_PLATFORM_ADMIN,
    RlsPolicy,
)
from app.lib.roles import TeamRole

ROLE_VALUES = ", ".join(f"'{role.value}'" for role in TeamRole)


class Team(RowLevelSecured, VersionedMixin, AuditBase):
    __tablename__ = "teams"
    __rls_policy__ = RlsPolicy(
        name="team_visibility",
        using=(
            f"id = {CURRENT_TEAM_ID} OR {IS_PLATFORM_ADMIN} OR EXISTS (SELECT 1 FROM team_members m "
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


class TeamInvitation(RowLevelSecured, AuditBase):
    """An emailed invitation to join a team with a role. Single use, expiring, revocable.

    Visible to the team (to manage) and, across teams, to the invitee: to the user whose email
    it was sent to, and within the transaction that presents its token (`app.invitation_token`).
    """

    __tablename__ = "team_invitations"
    __rls_policy__ = RlsPolicy(
        name="invitation_visibility",
        using=(
            f"team_id = {CURRENT_TEAM_ID} OR token_hash = {CURRENT_INVITATION_TOKEN} "
            f"OR lower(email) = (SELECT lower(u.email) FROM users u WHERE u.id = {CURRENT_USER_ID})"
        ),
        with_check=f"team_id = {CURRENT_TEAM_ID}",
    )
    __table_args__ = (
        CheckConstraint(f"role IN ({ROLE_VALUES})", name="role_valid"),
        Index("ix_team_invitations_expires_at", "expires_at"),
    )

    team_id: Mapped[UUID] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    accepted_by_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
