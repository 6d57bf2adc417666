from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from app.lib.schema import LongText, Name, Schema, Version


class TodoStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class TodoCreate(Schema):
    """A new to-do starts `open`. The assignee must be a team member; the post, one of this campaign's."""

    title: Name
    description: LongText | None = None
    assignee_id: UUID | None = None
    due_date: date | None = None
    post_id: UUID | None = None


class TodoUpdate(Schema):
    """Declarative: send every field, and the `version` you read."""

    title: Name
    description: LongText | None
    assignee_id: UUID | None
    due_date: date | None
    status: TodoStatus
    post_id: UUID | None
    version: Version


class TodoRead(Schema):
    id: UUID
    team_id: UUID
    campaign_id: UUID
    title: str
    description: str | None
    assignee_id: UUID | None
    due_date: date | None
    status: TodoStatus
    post_id: UUID | None
    version: int
    created_at: datetime
    updated_at: datetime


class TodoList(Schema):
    items: list[TodoRead]
    total: int
    limit: int
    offset: int


class TodoSort(StrEnum):
    DUE_DATE = "due_date"
    TITLE = "title"
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
