"""To-do actions: complete, reopen, assign to me, assign to a member — each an `UpdateTodo` of one
field, through `TodoService.update_todo` (same checks, same events)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.actions import ActionContext, BaseAction, ObjectType, action_registry
from app.campaigns.rules import campaign_blocks_change
from app.lib.errors import unknown_reference
from app.lib.schema import Schema
from app.todos.schemas import TodoRead, TodoStatus, TodoUpdate
from app.todos.services import ITEMS, CampaignTodo, TodoService


class TodoObjects(ObjectType[CampaignTodo]):
    name = "todo"
    read_schema = TodoRead

    async def load(
        self, session: AsyncSession, object_ids: Sequence[UUID], *, for_change: bool
    ) -> dict[UUID, CampaignTodo]:
        return await TodoService(session=session).campaign_todos(object_ids, for_change=for_change)

    def version_of(self, target: CampaignTodo) -> int:
        return target.todo.version

    async def read(self, session: AsyncSession, object_ids: Sequence[UUID]) -> dict[UUID, Any]:
        return dict(await TodoService(session=session).read_many(object_ids))


action_registry.add_object_type(TodoObjects())


class TodoChange(BaseAction[CampaignTodo]):
    """One field of the to-do changed through `update_todo`."""

    def changes(self, context: ActionContext, data: Any) -> dict[str, Any]:
        raise NotImplementedError

    def reason(self, target: CampaignTodo, context: ActionContext) -> str | None:
        return None

    def unavailable_reason(self, target: CampaignTodo, context: ActionContext) -> str | None:
        return campaign_blocks_change(target.campaign_status, items=ITEMS) or self.reason(target, context)

    async def execute(self, context: ActionContext, target: CampaignTodo, data: Any) -> None:
        todo = target.todo
        fields: dict[str, Any] = {
            "title": todo.title,
            "description": todo.description,
            "assignee_id": todo.assignee_id,
            "due_date": todo.due_date,
            "status": TodoStatus(todo.status),
            "post_id": todo.post_id,
            "version": todo.version,
        }
        fields.update(self.changes(context, data))
        await TodoService(session=context.session).update_todo(
            todo.campaign_id, todo.id, actor_id=context.actor_id, data=TodoUpdate(**fields)
        )


@action_registry.register("todo")
class CompleteTodo(TodoChange):
    name = "complete"
    label = "Complete"
    icon = "circle-check"
    description = "Mark the to-do as done."

    def reason(self, target: CampaignTodo, context: ActionContext) -> str | None:
        return "This to-do is already done." if target.todo.status == TodoStatus.DONE else None

    def changes(self, context: ActionContext, data: Any) -> dict[str, Any]:
        return {"status": TodoStatus.DONE}


@action_registry.register("todo")
class ReopenTodo(TodoChange):
    name = "reopen"
    label = "Reopen"
    icon = "rotate-ccw"
    description = "Open the done to-do again."

    def reason(self, target: CampaignTodo, context: ActionContext) -> str | None:
        return None if target.todo.status == TodoStatus.DONE else "Only done to-dos can be reopened."

    def changes(self, context: ActionContext, data: Any) -> dict[str, Any]:
        return {"status": TodoStatus.OPEN}


@action_registry.register("todo")
class AssignTodoToMe(TodoChange):
    name = "assign_to_me"
    label = "Assign to me"
    icon = "user-check"
    description = "Make yourself the to-do's assignee."

    def reason(self, target: CampaignTodo, context: ActionContext) -> str | None:
        return (
            "This to-do is already assigned to you." if target.todo.assignee_id == context.actor_id else None
        )

    def changes(self, context: ActionContext, data: Any) -> dict[str, Any]:
        return {"assignee_id": context.actor_id}


class TodoAssignInput(Schema):
    assignee_id: UUID
    """A member of the team."""


@action_registry.register("todo")
class AssignTodo(TodoChange):
    name = "assign"
    label = "Assign to…"
    icon = "user-plus"
    description = "Make a member of the team the to-do's assignee."
    InputSchema = TodoAssignInput

    def changes(self, context: ActionContext, data: TodoAssignInput) -> dict[str, Any]:
        return {"assignee_id": data.assignee_id}

    async def execute(self, context: ActionContext, target: CampaignTodo, data: TodoAssignInput) -> None:
        if not await TodoService(session=context.session).is_team_member(
            target.todo.team_id, data.assignee_id
        ):
            raise unknown_reference("input.assignee_id", "is not a member of this team")
        await super().execute(context, target, data)
