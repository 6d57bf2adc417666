from __future__ import annotations

from datetime import datetime

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import AuditBase, RowLevelSecured
from app.db.rls import IS_PLATFORM_ADMIN, RlsPolicy


class ScheduledTaskRun(RowLevelSecured, AuditBase):
    """One run of a cron task: when it was due, when it ran, what it did. For operators (and
    for the test that proves a schedule runs once however many workers there are).

    Written by system jobs (the system role bypasses RLS); the application role sees it only
    in a platform admin's context.
    """

    __tablename__ = "scheduled_task_runs"
    __rls_policy__ = RlsPolicy(name="operators_only", using=IS_PLATFORM_ADMIN)
    __table_args__ = (Index("ix_scheduled_task_runs_task_due", "task", "due_at"),)

    task: Mapped[str] = mapped_column(String(100))
    due_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    worker_id: Mapped[str | None] = mapped_column(String(100), default=None)
    summary: Mapped[str | None] = mapped_column(Text, default=None)
