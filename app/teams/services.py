"""Teams and memberships. The rule that matters most: a team always keeps an owner."""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from saq.queue.base import Queue
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from app.db.paging import fetch_page, fetch_rows
from app.db.tenancy import TenantContext, apply_tenant_now, get_tenant
from app.events.schemas import EventType
from app.events.services import emit_event, field_change, update_model_with_event
from app.lib.deps import TeamAccess
from app.lib.errors import (
    ConflictError,
    ErrorCode,
    PermissionDeniedError,
    ResourceNotFoundError,
    UnprocessableError,
)
from app.lib.pagination import Page
from app.lib.roles import TeamRole
from app.lib.versioning import ensure_current_version
from app.media.hooks import purge_team_media
from app.teams.models import Team, TeamMember
from app.teams.schemas import TeamList, TeamMemberList, TeamMemberRead, TeamRead
from app.users.models import User
from app.users.services import UserService


def team_read(team: Team, role: TeamRole | str | None) -> TeamRead:
    return TeamRead(
        id=team.id,
        name=team.name,
        description=team.description,
        version=team.version,
        role=TeamRole(role) if role else None,
        created_at=team.created_at,
        updated_at=team.updated_at,
    )


DEFER_CREATOR_KEYS = text(
    "SET CONSTRAINTS fk_campaign_creators_creator_id_creators, fk_posts_creator_id_creators DEFERRED"
)


class TeamService(SQLAlchemyAsyncRepositoryService[Team]):
    class Repo(SQLAlchemyAsyncRepository[Team]):
        model_type = Team

        async def list_with_role_of(self, user_id: UUID, page: Page) -> tuple[list[tuple[Team, str]], int]:
            statement = (
                select(Team, TeamMember.role)
                .join(TeamMember, TeamMember.team_id == Team.id)
                .where(TeamMember.user_id == user_id)
                .order_by(Team.name, Team.id)
            )
            rows, total = await fetch_rows(self.session, statement, page=page)
            return [(row[0], row[1]) for row in rows], total

    repository_type = Repo

    async def create_team(self, *, name: str, description: str | None, owner_id: UUID) -> TeamRead:
        """Create the team and make `owner_id` its owner, inside the new team's context."""
        team_id = uuid7()
        base = get_tenant(self.repository.session) or TenantContext(user_id=owner_id)
        await apply_tenant_now(
            self.repository.session,
            replace(base, team_id=team_id, campaign_ids=None),
        )
        team = await self.repository.add(Team(id=team_id, name=name.strip(), description=description))
        self.repository.session.add(TeamMember(team_id=team_id, user_id=owner_id, role=TeamRole.OWNER))
        emit_event(
            self.repository.session,
            team_id=team_id,
            actor_id=owner_id,
            object_type="team",
            object_id=team_id,
            event_type=EventType.CREATED,
            changes={"name": field_change(None, team.name)},
        )
        await self.repository.session.flush()
        return team_read(team, TeamRole.OWNER)

    async def list_teams(self, user_id: UUID, page: Page) -> TeamList:
        rows, total = await self.repository.list_with_role_of(user_id, page)
        return TeamList(
            items=[team_read(team, role) for team, role in rows],
            total=total,
            limit=page.limit,
            offset=page.offset,
        )

    async def read(self, access: TeamAccess) -> TeamRead:
        return team_read(await self.repository.get(access.team_id), access.role)

    async def update_team(
        self, access: TeamAccess, *, name: str, description: str | None, version: int
    ) -> TeamRead:
        team = await self.repository.get(access.team_id)
        ensure_current_version(kind="team", current=team.version, sent=version)
        update_model_with_event(
            self.repository.session,
            team,
            {"name": name.strip(), "description": description},
            actor_id=access.user_id,
            track_fields=("name", "description"),
            object_type="team",
            team_id=team.id,
        )
        await self.repository.session.flush()
        return team_read(team, access.role)

    async def delete_team(self, access: TeamAccess, *, queue: Queue) -> None:
        """Everything the team owns goes by cascade; its stored media files by a task after commit."""
        await purge_team_media(self.repository.session, queue, team_id=access.team_id)
        # The cascades through creators and through campaigns meet in bookings and posts: check
        # those keys at commit, once both have run (migration 0015).
        await self.repository.session.execute(DEFER_CREATOR_KEYS)
        await self.repository.delete(access.team_id)


class TeamMemberService(SQLAlchemyAsyncRepositoryService[TeamMember]):
    class Repo(SQLAlchemyAsyncRepository[TeamMember]):
        model_type = TeamMember

        async def list_members(self, team_id: UUID, page: Page) -> tuple[list[TeamMemberRead], int]:
            statement = (
                select(
                    TeamMember.user_id,
                    User.email,
                    User.name,
                    TeamMember.role,
                    TeamMember.created_at.label("joined_at"),
                )
                .join(User, User.id == TeamMember.user_id)
                .where(TeamMember.team_id == team_id)
                .order_by(TeamMember.created_at, TeamMember.id)
            )
            return await fetch_page(self.session, statement, page=page, schema=TeamMemberRead)

        async def get_member(self, team_id: UUID, user_id: UUID) -> tuple[TeamMember, User]:
            statement = (
                select(TeamMember, User)
                .join(User, User.id == TeamMember.user_id)
                .where(TeamMember.team_id == team_id, TeamMember.user_id == user_id)
            )
            row = (await self.session.execute(statement)).first()
            if row is None:
                raise ResourceNotFoundError("This user is not a member of the team.")
            return row[0], row[1]

        async def lock_owner_ids(self, team_id: UUID) -> list[UUID]:
            """Lock the owner rows so two concurrent demotions cannot both leave the team ownerless."""
            statement = (
                select(TeamMember.user_id)
                .where(TeamMember.team_id == team_id, TeamMember.role == TeamRole.OWNER)
                .with_for_update()
            )
            return list((await self.session.execute(statement)).scalars())

    repository_type = Repo

    async def list_members(self, access: TeamAccess, page: Page) -> TeamMemberList:
        items, total = await self.repository.list_members(access.team_id, page)
        return TeamMemberList(items=items, total=total, limit=page.limit, offset=page.offset)

    async def add_member(self, access: TeamAccess, *, email: str, role: TeamRole) -> TeamMemberRead:
        ensure_may_grant(access, role)
        session: AsyncSession = self.repository.session
        user = await UserService.Repo(session=session).get_by_email(email)  # names it to RLS
        if user is None:
            raise UnprocessableError(
                "No account uses this email; ask them to register first (or send an invitation).",
                extra={"errors": [{"key": "email", "message": "no account with this email"}]},
            )
        existing = await self.repository.get_one_or_none(team_id=access.team_id, user_id=user.id)
        if existing is not None:
            raise ConflictError(
                f"{user.email} is already a member of this team (as {existing.role}).",
                code=ErrorCode.DUPLICATE,
            )
        member = await self.repository.add(TeamMember(team_id=access.team_id, user_id=user.id, role=role))
        self._record_member(access, user.id, EventType.CREATED, {"role": field_change(None, role)})
        return _member_read(member, user)

    async def change_role(self, access: TeamAccess, *, user_id: UUID, role: TeamRole) -> TeamMemberRead:
        member, user = await self.repository.get_member(access.team_id, user_id)
        if TeamRole.OWNER in (role, member.role):
            ensure_may_grant(access, TeamRole.OWNER)
        if member.role == TeamRole.OWNER and role != TeamRole.OWNER:
            await self._ensure_another_owner(access.team_id, leaving=user_id)
        if member.role != role:
            self._record_member(access, user_id, EventType.UPDATED, {"role": field_change(member.role, role)})
        member.role = role
        await self.repository.session.flush()
        return _member_read(member, user)

    async def remove_member(self, access: TeamAccess, *, user_id: UUID) -> None:
        """Admins remove members; anyone may remove themself (leave). Owners go only by owners."""
        member, _ = await self.repository.get_member(access.team_id, user_id)
        leaving_self = user_id == access.user_id
        if not leaving_self and not access.at_least(TeamRole.ADMIN):
            raise PermissionDeniedError("Only admins and owners can remove other members.")
        if member.role == TeamRole.OWNER:
            if not leaving_self:
                ensure_may_grant(access, TeamRole.OWNER)
            await self._ensure_another_owner(access.team_id, leaving=user_id)
        await self.repository.session.execute(delete(TeamMember).where(TeamMember.id == member.id))
        self._record_member(access, user_id, EventType.DELETED, {"role": field_change(member.role, None)})

    def _record_member(
        self, access: TeamAccess, user_id: UUID, event_type: EventType, changes: dict[str, dict[str, object]]
    ) -> None:
        """Membership events name the user (`team_member/{user_id}`), as the member routes do."""
        emit_event(
            self.repository.session,
            team_id=access.team_id,
            actor_id=access.user_id,
            object_type="team_member",
            object_id=user_id,
            event_type=event_type,
            changes=changes,
        )

    async def _ensure_another_owner(self, team_id: UUID, *, leaving: UUID) -> None:
        owners = await self.repository.lock_owner_ids(team_id)
        if not [owner for owner in owners if owner != leaving]:
            raise ConflictError("A team must keep at least one owner; make someone else owner first.")


def ensure_may_grant(access: TeamAccess, role: TeamRole) -> None:
    if role == TeamRole.OWNER and not access.at_least(TeamRole.OWNER):
        raise PermissionDeniedError("Only owners can grant or take away the owner role.")


def _member_read(member: TeamMember, user: User) -> TeamMemberRead:
    return TeamMemberRead(
        user_id=user.id,
        email=user.email,
        name=user.name,
        role=TeamRole(member.role),
        joined_at=member.created_at,
    )
