from __future__ import annotations

from datetime import date
from uuid import UUID

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import CampaignScopedBase, VersionedMixin
from app.db.threadable import ThreadableMixin

TODO_STATUSES = ("open", "in_progress", "done")


class Todo(ThreadableMixin, VersionedMixin, CampaignScopedBase):
    __tablename__ = "todos"
    __thread_object_type__ = "todo"
    __extra_table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{value}'" for value in TODO_STATUSES) + ")", name="status_valid"
        ),
    )

    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    assignee_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    due_date: Mapped[date | None] = mapped_column(Date, default=None)
    status: Mapped[str] = mapped_column(String(16), default="open")
    post_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("posts.id", ondelete="SET NULL"), default=None, index=True
    )


Index("ix_todos_team_status_due", Todo.team_id, Todo.status, Todo.due_date)
