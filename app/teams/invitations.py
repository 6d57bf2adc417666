"""Team invitations: an admin invites an email address with a role; the person who receives the
email accepts with the token from its link, signed in with that same address.

The invitee is not a member yet, so they cannot see the team's rows. The invitation table's
policy lets them see invitations sent to their own address, or the one whose token they present
(`app.invitation_token`, set for that one transaction).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from saq.queue.base import Queue
from sqlalchemy import ColumnElement, and_, select, text, update

from app.config import Settings
from app.db.paging import fetch_rows
from app.db.rls import LOOKUP_EMAIL_SETTING
from app.db.tenancy import TenantContext, apply_tenant_now, select_by_secret
from app.events.schemas import EventType
from app.events.services import emit_event, field_change
from app.lib.crypto import new_token, token_digest
from app.lib.deps import TeamAccess
from app.lib.errors import (
    ConflictError,
    GoneError,
    PermissionDeniedError,
    ResourceNotFoundError,
)
from app.lib.pagination import Page
from app.lib.roles import TeamRole
from app.lib.schema import normalize_email
from app.mail.rendering import EmailTemplate
from app.mail.services import EmailService
from app.teams.models import Team, TeamInvitation, TeamMember
from app.teams.schemas import InvitationStatus, TeamInvitationList, TeamInvitationRead, TeamRead
from app.teams.services import ensure_may_grant, team_read
from app.users.models import User
from app.users.services import utcnow

INVITATION_LIFETIME = timedelta(days=7)


def _status(invitation: TeamInvitation, now: datetime) -> InvitationStatus:
    if invitation.accepted_at is not None:
        return InvitationStatus.ACCEPTED
    if invitation.revoked_at is not None:
        return InvitationStatus.REVOKED
    if invitation.expires_at <= now:
        return InvitationStatus.EXPIRED
    return InvitationStatus.PENDING


def _status_filter(status: InvitationStatus, now: datetime) -> ColumnElement[bool]:
    match status:
        case InvitationStatus.ACCEPTED:
            return TeamInvitation.accepted_at.is_not(None)
        case InvitationStatus.REVOKED:
            return and_(TeamInvitation.accepted_at.is_(None), TeamInvitation.revoked_at.is_not(None))
        case InvitationStatus.EXPIRED:
            return and_(
                TeamInvitation.accepted_at.is_(None),
                TeamInvitation.revoked_at.is_(None),
                TeamInvitation.expires_at <= now,
            )
        case InvitationStatus.PENDING:
            return and_(
                TeamInvitation.accepted_at.is_(None),
                TeamInvitation.revoked_at.is_(None),
                TeamInvitation.expires_at > now,
            )


def invitation_read(invitation: TeamInvitation, now: datetime | None = None) -> TeamInvitationRead:
    return TeamInvitationRead(
        id=invitation.id,
        team_id=invitation.team_id,
        email=invitation.email,
        role=TeamRole(invitation.role),
        status=_status(invitation, now or utcnow()),
        invited_by_id=invitation.invited_by_id,
        expires_at=invitation.expires_at,
        accepted_at=invitation.accepted_at,
        revoked_at=invitation.revoked_at,
        created_at=invitation.created_at,
    )


class TeamInvitationService(SQLAlchemyAsyncRepositoryService[TeamInvitation]):
    class Repo(SQLAlchemyAsyncRepository[TeamInvitation]):
        model_type = TeamInvitation

        async def list_page(
            self, team_id: UUID, page: Page, status: InvitationStatus | None
        ) -> tuple[list[TeamInvitation], int]:
            filters = [TeamInvitation.team_id == team_id]
            if status is not None:
                filters.append(_status_filter(status, utcnow()))
            statement = (
                select(TeamInvitation)
                .where(*filters)
                .order_by(TeamInvitation.created_at.desc(), TeamInvitation.id)
            )
            rows, total = await fetch_rows(self.session, statement, page=page)
            return [row[0] for row in rows], total

        async def lock_by_token(self, token: str) -> TeamInvitation | None:
            digest = token_digest(token)
            await self.session.execute(
                text("SELECT set_config('app.invitation_token', :digest, true)"), {"digest": digest}
            )
            statement = select(TeamInvitation).where(TeamInvitation.token_hash == digest).with_for_update()
            return (await self.session.execute(statement)).scalar_one_or_none()

        async def revoke_pending_for(self, team_id: UUID, email: str, *, at: datetime) -> None:
            await self.session.execute(
                update(TeamInvitation)
                .where(
                    TeamInvitation.team_id == team_id,
                    TeamInvitation.email == email,
                    _status_filter(InvitationStatus.PENDING, at),
                )
                .values(revoked_at=at)
            )

    repository_type = Repo

    async def invite(
        self, access: TeamAccess, *, email: str, role: TeamRole, queue: Queue, settings: Settings
    ) -> TeamInvitationRead:
        """Invite `email` (an earlier pending invitation to it is replaced) and email the link."""
        ensure_may_grant(access, role)
        session = self.repository.session
        email = normalize_email(email)
        # Named by email, the invitee's account is visible to this transaction (RLS), here and
        # to the notification listener that tells them about the invitation.
        membership = select(TeamMember.id).where(
            TeamMember.team_id == access.team_id, TeamMember.user_id == User.id
        )
        already_member = await session.execute(
            select_by_secret(User, LOOKUP_EMAIL_SETTING, email, match=User.email, where=[membership.exists()])
        )
        if already_member.first() is not None:
            raise ConflictError(f"{email} is already a member of this team.")
        now = utcnow()
        await self.repository.revoke_pending_for(access.team_id, email, at=now)
        token = new_token()
        invitation = await self.repository.add(
            TeamInvitation(
                team_id=access.team_id,
                email=email,
                role=role,
                token_hash=token_digest(token),
                invited_by_id=access.user_id,
                expires_at=now + INVITATION_LIFETIME,
            )
        )
        emit_event(
            session,
            team_id=access.team_id,
            actor_id=access.user_id,
            object_type="team_invitation",
            object_id=invitation.id,
            event_type=EventType.CREATED,
            changes={"email": field_change(None, email), "role": field_change(None, role.value)},
        )
        team = await session.get_one(Team, access.team_id)
        inviter = await session.get_one(User, access.user_id)
        await EmailService(session=session).send_later(
            queue,
            to=email,
            template=EmailTemplate.TEAM_INVITATION,
            context={
                "team_name": team.name,
                "inviter_name": inviter.name,
                "role": role.value,
                "accept_url": f"{settings.mail.app_base_url}/invitations/accept?token={token}",
                "expires_days": INVITATION_LIFETIME.days,
            },
        )
        return invitation_read(invitation, now)

    async def list_invitations(
        self, access: TeamAccess, page: Page, status: InvitationStatus | None
    ) -> TeamInvitationList:
        now = utcnow()
        items, total = await self.repository.list_page(access.team_id, page, status)
        return TeamInvitationList(
            items=[invitation_read(item, now) for item in items],
            total=total,
            limit=page.limit,
            offset=page.offset,
        )

    async def revoke(self, access: TeamAccess, invitation_id: UUID) -> None:
        invitation = await self.repository.get_one_or_none(id=invitation_id, team_id=access.team_id)
        if invitation is None:
            raise ResourceNotFoundError("Invitation not found.")
        if invitation.accepted_at is not None:
            raise ConflictError("This invitation was already accepted; remove the member instead.")
        if invitation.revoked_at is None:
            invitation.revoked_at = utcnow()
            emit_event(
                self.repository.session,
                team_id=access.team_id,
                actor_id=access.user_id,
                object_type="team_invitation",
                object_id=invitation.id,
                event_type=EventType.DELETED,
                changes={"status": field_change("pending", "revoked")},
            )
            await self.repository.session.flush()

    async def accept(self, token: str, *, user_id: UUID) -> TeamRead:
        """Join the team with the invitation's role. The signed-in user's email must match."""
        session = self.repository.session
        invitation = await self.repository.lock_by_token(token)
        if invitation is None:
            raise ResourceNotFoundError("This invitation link is not valid.")
        if invitation.accepted_at is not None:
            raise ConflictError("This invitation was already used.")
        if invitation.revoked_at is not None:
            raise GoneError("This invitation was revoked; ask the team for a new one.")
        now = utcnow()
        if invitation.expires_at <= now:
            raise GoneError("This invitation has expired; ask the team for a new one.")
        user = await session.get_one(User, user_id)
        if user.email != normalize_email(invitation.email):
            raise PermissionDeniedError(
                "This invitation was sent to a different email address; sign in with the invited address."
            )
        await apply_tenant_now(session, TenantContext(user_id=user_id, team_id=invitation.team_id))
        existing = await session.execute(
            select(TeamMember.id).where(
                TeamMember.team_id == invitation.team_id, TeamMember.user_id == user_id
            )
        )
        if existing.first() is not None:
            raise ConflictError("You are already a member of this team.")
        session.add(TeamMember(team_id=invitation.team_id, user_id=user_id, role=invitation.role))
        invitation.accepted_at = now
        invitation.accepted_by_id = user_id
        if user.email_verified_at is None:
            user.email_verified_at = now  # the emailed token proves the address
        emit_event(
            session,
            team_id=invitation.team_id,
            actor_id=user_id,
            object_type="team_member",
            object_id=user_id,
            event_type=EventType.CREATED,
            changes={
                "role": field_change(None, invitation.role),
                "invitation_id": field_change(None, str(invitation.id)),
            },
        )
        await session.flush()
        return team_read(await session.get_one(Team, invitation.team_id), invitation.role)


__all__ = ["INVITATION_LIFETIME", "TeamInvitationService", "invitation_read"]
