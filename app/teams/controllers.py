"""Teams and their members. Every `/api/teams/{team_id}` route verifies membership first."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from saq.queue.base import Queue
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.lib.auth import AuthUser
from app.lib.deps import TeamAccess, team_dependencies
from app.lib.errors import TEAM_ROUTE_ERRORS, problem_responses
from app.lib.pagination import Page, page_dependencies
from app.lib.roles import TeamRole, requires_role
from app.queue.deps import queue_dependencies
from app.teams.invitations import TeamInvitationService
from app.teams.schemas import (
    InvitationAcceptance,
    InvitationStatus,
    TeamCreate,
    TeamInvitationCreate,
    TeamInvitationList,
    TeamInvitationRead,
    TeamList,
    TeamMemberAdd,
    TeamMemberList,
    TeamMemberRead,
    TeamMemberUpdate,
    TeamRead,
    TeamUpdate,
)
from app.teams.services import TeamMemberService, TeamService


def provide_teams(db_session: NamedDependency[AsyncSession]) -> TeamService:
    return TeamService(session=db_session)


def provide_team_members(db_session: NamedDependency[AsyncSession]) -> TeamMemberService:
    return TeamMemberService(session=db_session)


class TeamController(Controller):
    path = "/api/teams"
    tags = ["Teams"]
    dependencies = {
        "teams": Provide(provide_teams, sync_to_thread=False),
        **team_dependencies,
        **page_dependencies,
        **queue_dependencies,
    }

    @get("", operation_id="ListTeams", responses=TEAM_ROUTE_ERRORS)
    async def list_teams(
        self,
        current_user: NamedDependency[AuthUser],
        teams: NamedDependency[TeamService],
        page: NamedDependency[Page],
    ) -> TeamList:
        """The teams you belong to, by name, with your role in each."""
        return await teams.list_teams(current_user.id, page)

    @post("", operation_id="CreateTeam", responses=TEAM_ROUTE_ERRORS, status_code=HTTP_201_CREATED)
    async def create_team(
        self,
        data: JSONBody[TeamCreate],
        current_user: NamedDependency[AuthUser],
        teams: NamedDependency[TeamService],
    ) -> TeamRead:
        """Create a team; you become its owner."""
        return await teams.create_team(name=data.name, description=data.description, owner_id=current_user.id)

    @get(
        "/{team_id:uuid}",
        operation_id="GetTeam",
        responses=TEAM_ROUTE_ERRORS,
        opt=requires_role(TeamRole.GUEST),
    )
    async def get_team(
        self, team_access: NamedDependency[TeamAccess], teams: NamedDependency[TeamService]
    ) -> TeamRead:
        """A team you belong to (404 for any other); guests too."""
        return await teams.read(team_access)

    @put(
        "/{team_id:uuid}",
        operation_id="UpdateTeam",
        responses=TEAM_ROUTE_ERRORS,
        opt=requires_role(TeamRole.ADMIN),
    )
    async def update_team(
        self,
        data: JSONBody[TeamUpdate],
        team_access: NamedDependency[TeamAccess],
        teams: NamedDependency[TeamService],
    ) -> TeamRead:
        """Replace the team's name and description (admins and owners; send the version you read)."""
        return await teams.update_team(
            team_access, name=data.name, description=data.description, version=data.version
        )

    @delete(
        "/{team_id:uuid}",
        operation_id="DeleteTeam",
        responses=TEAM_ROUTE_ERRORS,
        opt=requires_role(TeamRole.OWNER),
    )
    async def delete_team(
        self,
        team_access: NamedDependency[TeamAccess],
        teams: NamedDependency[TeamService],
        job_queue: NamedDependency[Queue],
    ) -> None:
        """Delete the team and everything it owns (owners only); its stored files go after commit."""
        await teams.delete_team(team_access, queue=job_queue)


class TeamMemberController(Controller):
    path = "/api/teams/{team_id:uuid}/members"
    tags = ["Teams"]
    dependencies = {
        "members": Provide(provide_team_members, sync_to_thread=False),
        **team_dependencies,
        **page_dependencies,
    }

    @get("", operation_id="ListTeamMembers", responses=TEAM_ROUTE_ERRORS)
    async def list_members(
        self,
        team_access: NamedDependency[TeamAccess],
        members: NamedDependency[TeamMemberService],
        page: NamedDependency[Page],
    ) -> TeamMemberList:
        """Members of the team, oldest first."""
        return await members.list_members(team_access, page)

    @post(
        "",
        operation_id="AddTeamMember",
        responses=TEAM_ROUTE_ERRORS,
        status_code=HTTP_201_CREATED,
        opt=requires_role(TeamRole.ADMIN),
    )
    async def add_member(
        self,
        data: JSONBody[TeamMemberAdd],
        team_access: NamedDependency[TeamAccess],
        members: NamedDependency[TeamMemberService],
    ) -> TeamMemberRead:
        """Add an existing user by email (admins; only owners may add owners)."""
        return await members.add_member(team_access, email=data.email, role=data.role)

    @put(
        "/{user_id:uuid}",
        operation_id="UpdateTeamMember",
        responses=TEAM_ROUTE_ERRORS,
        opt=requires_role(TeamRole.ADMIN),
    )
    async def update_member(
        self,
        user_id: FromPath[UUID],
        data: JSONBody[TeamMemberUpdate],
        team_access: NamedDependency[TeamAccess],
        members: NamedDependency[TeamMemberService],
    ) -> TeamMemberRead:
        """Change a member's role. Only owners grant or remove ownership; one owner always remains."""
        return await members.change_role(team_access, user_id=user_id, role=data.role)

    @delete(
        "/{user_id:uuid}",
        operation_id="RemoveTeamMember",
        responses=TEAM_ROUTE_ERRORS,
        status_code=HTTP_204_NO_CONTENT,
        opt=requires_role(TeamRole.GUEST),  # anyone may leave; the service lets only admins remove others
    )
    async def remove_member(
        self,
        user_id: FromPath[UUID],
        team_access: NamedDependency[TeamAccess],
        members: NamedDependency[TeamMemberService],
    ) -> None:
        """Remove a member (admins), or leave the team by removing yourself. The last owner cannot go."""
        await members.remove_member(team_access, user_id=user_id)


def provide_invitations(db_session: NamedDependency[AsyncSession]) -> TeamInvitationService:
    return TeamInvitationService(session=db_session)


class TeamInvitationController(Controller):
    path = "/api/teams/{team_id:uuid}/invitations"
    tags = ["Teams"]
    dependencies = {
        "invitations": Provide(provide_invitations, sync_to_thread=False),
        **team_dependencies,
        **page_dependencies,
        **queue_dependencies,
    }

    @post(
        "",
        operation_id="CreateTeamInvitation",
        responses=TEAM_ROUTE_ERRORS,
        status_code=HTTP_201_CREATED,
        opt=requires_role(TeamRole.ADMIN),
    )
    async def create_invitation(
        self,
        data: JSONBody[TeamInvitationCreate],
        team_access: NamedDependency[TeamAccess],
        invitations: NamedDependency[TeamInvitationService],
        job_queue: NamedDependency[Queue],
        settings: NamedDependency[Settings],
    ) -> TeamInvitationRead:
        """Invite an email address with a role (admins; only owners invite owners). The link is
        emailed and valid for 7 days; inviting the same address again replaces the pending one."""
        return await invitations.invite(
            team_access, email=data.email, role=data.role, queue=job_queue, settings=settings
        )

    @get(
        "", operation_id="ListTeamInvitations", responses=TEAM_ROUTE_ERRORS, opt=requires_role(TeamRole.ADMIN)
    )
    async def list_invitations(
        self,
        team_access: NamedDependency[TeamAccess],
        invitations: NamedDependency[TeamInvitationService],
        page: NamedDependency[Page],
        status: Annotated[
            InvitationStatus | None, Parameter(description="Only invitations in this state.")
        ] = None,
    ) -> TeamInvitationList:
        """The team's invitations, newest first (admins)."""
        return await invitations.list_invitations(team_access, page, status)

    @delete(
        "/{invitation_id:uuid}",
        operation_id="RevokeTeamInvitation",
        responses=TEAM_ROUTE_ERRORS,
        status_code=HTTP_204_NO_CONTENT,
        opt=requires_role(TeamRole.ADMIN),
    )
    async def revoke_invitation(
        self,
        invitation_id: FromPath[UUID],
        team_access: NamedDependency[TeamAccess],
        invitations: NamedDependency[TeamInvitationService],
    ) -> None:
        """Revoke an invitation so its link stops working (admins)."""
        await invitations.revoke(team_access, invitation_id)


class InvitationAcceptanceController(Controller):
    path = "/api/invitations"
    tags = ["Teams"]
    dependencies = {"invitations": Provide(provide_invitations, sync_to_thread=False)}

    @post(
        "/accept",
        operation_id="AcceptTeamInvitation",
        responses=problem_responses(400, 401, 403, 404, 409, 410),
        status_code=HTTP_200_OK,
    )
    async def accept_invitation(
        self,
        data: JSONBody[InvitationAcceptance],
        current_user: NamedDependency[AuthUser],
        invitations: NamedDependency[TeamInvitationService],
    ) -> TeamRead:
        """Join the team with the token from the invitation email. Sign in first, with the
        invited address (register with it if you have no account). Expired or revoked: 410;
        already used: 409; another address: 403."""
        return await invitations.accept(data.token, user_id=current_user.id)
