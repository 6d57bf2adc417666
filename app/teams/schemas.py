from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from app.lib.roles import TeamRole
from app.lib.schema import Email, LongText, Name, Schema, Version


class TeamCreate(Schema):
    name: Name
    description: LongText | None = None


class TeamUpdate(Schema):
    """Declarative: send every field, and the `version` you read."""

    name: Name
    description: LongText | None
    version: Version


class TeamRead(Schema):
    id: UUID
    name: str
    description: str | None
    version: int
    role: TeamRole | None
    """Your role in the team (`null` for a platform admin who is not a member)."""
    created_at: datetime
    updated_at: datetime


class TeamList(Schema):
    items: list[TeamRead]
    total: int
    limit: int
    offset: int


class TeamMemberRead(Schema):
    user_id: UUID
    email: str
    name: str
    role: TeamRole
    joined_at: datetime


class TeamMemberList(Schema):
    items: list[TeamMemberRead]
    total: int
    limit: int
    offset: int


class TeamMemberAdd(Schema):
    email: Email
    role: TeamRole = TeamRole.MEMBER


class TeamMemberUpdate(Schema):
    role: TeamRole


class InvitationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REVOKED = "revoked"
    EXPIRED = "expired"


class TeamInvitationCreate(Schema):
    email: Email
    role: TeamRole = TeamRole.MEMBER


class TeamInvitationRead(Schema):
    id: UUID
    team_id: UUID
    email: str
    role: TeamRole
    status: InvitationStatus
    invited_by_id: UUID | None
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


class TeamInvitationList(Schema):
    items: list[TeamInvitationRead]
    total: int
    limit: int
    offset: int


class InvitationAcceptance(Schema):
    token: str
    """The token from the invitation email's link."""
