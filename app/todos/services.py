"""To-dos of a campaign: who does what by when, optionally about one post.

A completed campaign takes no new to-dos and an archived one's are read-only (409, `ensure_campaign_accepts`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any, NamedTuple
from uuid import UUID

import msgspec
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy import ColumnElement, Date, Select, bindparam, func, select
from sqlalchemy.orm import InstrumentedAttribute

from app.campaigns.models import Campaign
from app.campaigns.rules import (
    CampaignAction,
    campaign_item,
    ensure_campaign_accepts,
    ensure_listed_campaign,
    visible_campaign,
)
from app.db.paging import PreparedGet, PreparedPage, set_filters
from app.events.schemas import EventType
from app.events.services import emit_event, snapshot, update_model_with_event
from app.lib.errors import ResourceNotFoundError, unknown_reference
from app.lib.pagination import Page, SortOrder
from app.lib.search import contains_ignoring_case, ordered, search_pattern
from app.lib.versioning import ensure_current_version
from app.posts.models import Post
from app.teams.models import TeamMember
from app.todos.models import Todo
from app.todos.schemas import TodoCreate, TodoList, TodoRead, TodoSort, TodoStatus, TodoUpdate

OBJECT_TYPE = "todo"
ITEMS = "to-dos"
TRACKED_FIELDS = ("title", "description", "assignee_id", "due_date", "status", "post_id")

_READ_COLUMNS = (
    Todo.id,
    Todo.team_id,
    Todo.campaign_id,
    Todo.title,
    Todo.description,
    Todo.assignee_id,
    Todo.due_date,
    Todo.status,
    Todo.post_id,
    Todo.version,
    Todo.created_at,
    Todo.updated_at,
)


class CampaignTodo(NamedTuple):
    """A to-do with its campaign's status (what decides whether the to-do may change at all)."""

    todo: Todo
    campaign_status: str


def today() -> date:
    return datetime.now(tz=UTC).date()


class TodoFilters(msgspec.Struct, frozen=True, kw_only=True):
    search: str | None = None
    status: TodoStatus | None = None
    assignee_id: UUID | None = None
    post_id: UUID | None = None
    due_after: date | None = None
    due_before: date | None = None
    overdue: bool = False


def _sort_column(sort: TodoSort) -> ColumnElement[Any] | InstrumentedAttribute[Any]:
    match sort:
        case TodoSort.DUE_DATE:
            return Todo.due_date
        case TodoSort.TITLE:
            return func.lower(Todo.title)
        case TodoSort.CREATED_AT:
            return Todo.created_at
        case TodoSort.UPDATED_AT:
            return Todo.updated_at


def overdue_condition(on: date | ColumnElement[date]) -> ColumnElement[bool]:
    """Not done and due before `on` (today, in UTC)."""
    return (Todo.status != TodoStatus.DONE.value) & (Todo.due_date < on)


_FILTERS: dict[str, Callable[[], ColumnElement[bool]]] = {
    "search": lambda: contains_ignoring_case(Todo.title, bindparam("search")),
    "status": lambda: Todo.status == bindparam("status"),
    "assignee_id": lambda: Todo.assignee_id == bindparam("assignee_id"),
    "post_id": lambda: Todo.post_id == bindparam("post_id"),
    "due_after": lambda: Todo.due_date >= bindparam("due_after"),
    "due_before": lambda: Todo.due_date <= bindparam("due_before"),
    "overdue": lambda: overdue_condition(bindparam("overdue", type_=Date)),
}
"""Each filter's condition, its value bound by the filter's name (`overdue`'s is today)."""


def _page_statement(sort: TodoSort, order: SortOrder, filters: tuple[str, ...]) -> Select[Any]:  # pyright: ignore[reportInvalidTypeArguments]
    return (
        TodoService.Repo.readable()
        .where(Todo.campaign_id == bindparam("campaign_id"), *(_FILTERS[name]() for name in filters))
        .order_by(ordered(_sort_column(sort), order).nulls_last(), Todo.id)
    )


class TodoService(SQLAlchemyAsyncRepositoryService[Todo]):
    class Repo(SQLAlchemyAsyncRepository[Todo]):
        model_type = Todo

        @staticmethod
        def readable() -> Select[Any]:  # pyright: ignore[reportInvalidTypeArguments]
            """The one statement every to-do read starts from; RLS limits it to the team (and a guest's campaigns)."""
            return select(*_READ_COLUMNS)  # pyright: ignore[reportReturnType]

        pages = PreparedPage(_page_statement, schema=TodoRead)

        async def list_page(
            self, *, campaign_id: UUID, page: Page, sort: TodoSort, order: SortOrder, filters: TodoFilters
        ) -> tuple[list[TodoRead], int]:
            values = set_filters(filters, search=search_pattern, overdue=lambda _: today())
            return await self.pages.fetch(
                self.session, (sort, order, tuple(values)), page=page, campaign_id=campaign_id, **values
            )

        by_id = PreparedGet(
            lambda: TodoService.Repo.readable().where(
                Todo.id == bindparam("todo_id"), Todo.campaign_id == bindparam("campaign_id")
            ),
            schema=TodoRead,
            missing="To-do not found.",
        )

        async def read_one(self, campaign_id: UUID, todo_id: UUID) -> TodoRead:
            return await self.by_id.fetch(self.session, todo_id=todo_id, campaign_id=campaign_id)

        async def is_team_member(self, team_id: UUID, user_id: UUID) -> bool:
            statement = select(TeamMember.id).where(
                TeamMember.team_id == team_id, TeamMember.user_id == user_id
            )
            return (await self.session.execute(statement)).first() is not None

        async def post_in_campaign(self, campaign_id: UUID, post_id: UUID) -> bool:
            statement = select(Post.id).where(Post.id == post_id, Post.campaign_id == campaign_id)
            return (await self.session.execute(statement)).first() is not None

    repository_type = Repo

    async def list_todos(
        self, *, campaign_id: UUID, page: Page, sort: TodoSort, order: SortOrder, filters: TodoFilters
    ) -> TodoList:
        items, total = await self.repository.list_page(
            campaign_id=campaign_id, page=page, sort=sort, order=order, filters=filters
        )
        await ensure_listed_campaign(self.repository.session, campaign_id, total=total)
        return TodoList(items=items, total=total, limit=page.limit, offset=page.offset)

    async def read(self, campaign_id: UUID, todo_id: UUID) -> TodoRead:
        return await self.repository.read_one(campaign_id, todo_id)

    async def create_todo(self, campaign_id: UUID, *, actor_id: UUID, data: TodoCreate) -> TodoRead:
        campaign = await visible_campaign(self.repository.session, campaign_id, for_change=True)
        ensure_campaign_accepts(campaign.status, action="add", items=ITEMS)
        await self._check_references(campaign.team_id, campaign_id, data.assignee_id, data.post_id)
        todo = await self.repository.add(
            Todo(
                team_id=campaign.team_id,
                campaign_id=campaign_id,
                title=data.title.strip(),
                description=data.description,
                assignee_id=data.assignee_id,
                due_date=data.due_date,
                status=TodoStatus.OPEN.value,
                post_id=data.post_id,
            )
        )
        emit_event(
            self.repository.session,
            team_id=todo.team_id,
            actor_id=actor_id,
            object_type=OBJECT_TYPE,
            object_id=todo.id,
            event_type=EventType.CREATED,
            changes=snapshot(todo, TRACKED_FIELDS),
        )
        return _todo_read(todo)

    async def update_todo(
        self, campaign_id: UUID, todo_id: UUID, *, actor_id: UUID, data: TodoUpdate
    ) -> TodoRead:
        todo = await self._get(campaign_id, todo_id, action="change")
        ensure_current_version(kind="to-do", current=todo.version, sent=data.version)
        await self._check_references(
            todo.team_id,
            campaign_id,
            data.assignee_id if data.assignee_id != todo.assignee_id else None,
            data.post_id if data.post_id != todo.post_id else None,
        )
        update_model_with_event(
            self.repository.session,
            todo,
            {
                "title": data.title.strip(),
                "description": data.description,
                "assignee_id": data.assignee_id,
                "due_date": data.due_date,
                "status": data.status.value,
                "post_id": data.post_id,
            },
            actor_id=actor_id,
            track_fields=TRACKED_FIELDS,
            object_type=OBJECT_TYPE,
        )
        await self.repository.session.flush()
        return _todo_read(todo)

    async def campaign_todos(self, todo_ids: Sequence[UUID], *, for_change: bool) -> dict[UUID, CampaignTodo]:
        """The visible to-dos among `todo_ids` with their campaigns' status, in one query."""
        statement = (
            select(Todo, Campaign.status)
            .join(Campaign, Campaign.id == Todo.campaign_id)
            .where(Todo.id.in_(todo_ids))
        )
        if for_change:  # the campaign's status must hold until commit (see `campaign_item`)
            statement = statement.with_for_update(read=True, of=Campaign)
        rows = (await self.repository.session.execute(statement)).all()
        return {row[0].id: CampaignTodo(row[0], row[1]) for row in rows}

    async def read_many(self, todo_ids: Sequence[UUID]) -> dict[UUID, TodoRead]:
        """The visible to-dos among `todo_ids` as `GetTodo` returns them, in one query."""
        statement = self.repository.readable().where(Todo.id.in_(todo_ids))
        rows = (await self.repository.session.execute(statement)).mappings().all()
        return {row["id"]: msgspec.convert(row, TodoRead, strict=False) for row in rows}

    async def is_team_member(self, team_id: UUID, user_id: UUID) -> bool:
        return await self.repository.is_team_member(team_id, user_id)

    async def delete_todo(self, campaign_id: UUID, todo_id: UUID, *, actor_id: UUID) -> None:
        todo = await self._get(campaign_id, todo_id, action="remove")
        emit_event(
            self.repository.session,
            team_id=todo.team_id,
            actor_id=actor_id,
            object_type=OBJECT_TYPE,
            object_id=todo.id,
            event_type=EventType.DELETED,
            changes={"title": {"old": todo.title, "new": None}},
        )
        await self.repository.session.delete(todo)
        await self.repository.session.flush()

    async def _get(self, campaign_id: UUID, todo_id: UUID, *, action: CampaignAction) -> Todo:
        found = await campaign_item(self.repository.session, Todo, campaign_id, todo_id)
        if found is None:
            raise ResourceNotFoundError("To-do not found.")
        todo, campaign_status = found
        ensure_campaign_accepts(campaign_status, action=action, items=ITEMS)
        return todo

    async def _check_references(
        self, team_id: UUID, campaign_id: UUID, assignee_id: UUID | None, post_id: UUID | None
    ) -> None:
        if assignee_id is not None and not await self.repository.is_team_member(team_id, assignee_id):
            raise unknown_reference("assignee_id", "is not a member of this team")
        if post_id is not None and not await self.repository.post_in_campaign(campaign_id, post_id):
            raise unknown_reference("post_id", "no such post in this campaign")


def _todo_read(todo: Todo) -> TodoRead:
    return msgspec.convert(
        {column.key: getattr(todo, column.key) for column in _READ_COLUMNS}, TodoRead, strict=False
    )
