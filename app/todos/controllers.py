"""To-do routes under `/api/teams/{team_id}/campaigns/{campaign_id}/todos`.

Guests read the to-dos of their campaigns; members create, edit and delete.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from app.lib.deps import TeamAccess, team_dependencies
from app.lib.errors import TEAM_ROUTE_ERRORS
from app.lib.pagination import Page, SortOrder, page_dependencies
from app.lib.roles import TeamRole, requires_role
from app.todos.schemas import TodoCreate, TodoList, TodoRead, TodoSort, TodoStatus, TodoUpdate
from app.todos.services import TodoFilters, TodoService


def provide_todos(db_session: NamedDependency[AsyncSession]) -> TodoService:
    return TodoService(session=db_session)


class TodoController(Controller):
    path = "/api/teams/{team_id:uuid}/campaigns/{campaign_id:uuid}/todos"
    tags = ["To-dos"]
    dependencies = {
        "todos": Provide(provide_todos, sync_to_thread=False),
        **team_dependencies,
        **page_dependencies,
    }

    @get("", operation_id="ListTodos", responses=TEAM_ROUTE_ERRORS, opt=requires_role(TeamRole.GUEST))
    async def list_todos(
        self,
        campaign_id: FromPath[UUID],
        team_access: NamedDependency[TeamAccess],
        todos: NamedDependency[TodoService],
        page: NamedDependency[Page],
        sort: Annotated[TodoSort, Parameter(description="Sort key (undated last).")] = TodoSort.DUE_DATE,
        order: Annotated[SortOrder, Parameter(description="Sort direction.")] = SortOrder.ASC,
        q: Annotated[
            str | None, Parameter(max_length=200, description="Case-insensitive search in the title.")
        ] = None,
        status: Annotated[TodoStatus | None, Parameter(description="Only this status.")] = None,
        assignee_id: Annotated[UUID | None, Parameter(description="Only this person's to-dos.")] = None,
        post_id: Annotated[UUID | None, Parameter(description="Only to-dos about this post.")] = None,
        due_after: Annotated[date | None, Parameter(description="Due on or after this day.")] = None,
        due_before: Annotated[date | None, Parameter(description="Due on or before this day.")] = None,
        overdue: Annotated[bool, Parameter(description="Only open ones past their due date (UTC).")] = False,
    ) -> TodoList:
        """The campaign's to-dos, soonest due first by default."""
        filters = TodoFilters(
            search=q,
            status=status,
            assignee_id=assignee_id,
            post_id=post_id,
            due_after=due_after,
            due_before=due_before,
            overdue=overdue,
        )
        return await todos.list_todos(
            campaign_id=campaign_id, page=page, sort=sort, order=order, filters=filters
        )

    @post("", operation_id="CreateTodo", responses=TEAM_ROUTE_ERRORS, status_code=HTTP_201_CREATED)
    async def create_todo(
        self,
        campaign_id: FromPath[UUID],
        data: JSONBody[TodoCreate],
        team_access: NamedDependency[TeamAccess],
        todos: NamedDependency[TodoService],
    ) -> TodoRead:
        """Add a to-do (422 when the assignee is not a team member or the post is not this campaign's)."""
        return await todos.create_todo(campaign_id, actor_id=team_access.user_id, data=data)

    @get(
        "/{todo_id:uuid}",
        operation_id="GetTodo",
        responses=TEAM_ROUTE_ERRORS,
        opt=requires_role(TeamRole.GUEST),
    )
    async def get_todo(
        self,
        campaign_id: FromPath[UUID],
        todo_id: FromPath[UUID],
        team_access: NamedDependency[TeamAccess],
        todos: NamedDependency[TodoService],
    ) -> TodoRead:
        """One to-do of the campaign."""
        return await todos.read(campaign_id, todo_id)

    @put("/{todo_id:uuid}", operation_id="UpdateTodo", responses=TEAM_ROUTE_ERRORS)
    async def update_todo(
        self,
        campaign_id: FromPath[UUID],
        todo_id: FromPath[UUID],
        data: JSONBody[TodoUpdate],
        team_access: NamedDependency[TeamAccess],
        todos: NamedDependency[TodoService],
    ) -> TodoRead:
        """Replace every field (any status to any other); send the `version` you read."""
        return await todos.update_todo(campaign_id, todo_id, actor_id=team_access.user_id, data=data)

    @delete(
        "/{todo_id:uuid}",
        operation_id="DeleteTodo",
        responses=TEAM_ROUTE_ERRORS,
        status_code=HTTP_204_NO_CONTENT,
    )
    async def delete_todo(
        self,
        campaign_id: FromPath[UUID],
        todo_id: FromPath[UUID],
        team_access: NamedDependency[TeamAccess],
        todos: NamedDependency[TodoService],
    ) -> None:
        """Delete a to-do."""
        await todos.delete_todo(campaign_id, todo_id, actor_id=team_access.user_id)
