"""Reading and marking one's own notifications, and one's preferences.

No query here filters by user: the row-level policy shows each user only their own rows, so
`WHERE id = :id` on someone else's notification simply finds nothing (404).
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import msgspec
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert

from app.db.paging import fetch_one
from app.notifications.models import Notification, NotificationPreference
from app.notifications.schemas import (
    DigestFrequency,
    MarkAllRead,
    MarkedRead,
    NotificationList,
    NotificationPreferences,
    NotificationRead,
    NotificationSummary,
    TeamUnread,
)

_READ_COLUMNS = (
    Notification.id,
    Notification.team_id,
    Notification.kind,
    Notification.object_type,
    Notification.object_id,
    Notification.campaign_id,
    Notification.actor_id,
    Notification.text,
    Notification.created_at,
    Notification.read_at,
)


class NotificationService(SQLAlchemyAsyncRepositoryService[Notification]):
    class Repo(SQLAlchemyAsyncRepository[Notification]):
        model_type = Notification

    repository_type = Repo

    async def list_notifications(self, *, unread: bool, before: UUID | None, limit: int) -> NotificationList:
        statement = select(*_READ_COLUMNS)
        if unread:
            statement = statement.where(Notification.read_at.is_(None))
        if before is not None:
            statement = statement.where(Notification.id < before)
        rows = (
            (
                await self.repository.session.execute(
                    statement.order_by(Notification.id.desc()).limit(limit + 1)
                )
            )
            .mappings()
            .all()
        )
        items = msgspec.convert(list(rows[:limit]), list[NotificationRead], strict=False)
        return NotificationList(items=items, limit=limit, has_more=len(rows) > limit)

    async def summary(self) -> NotificationSummary:
        rows = (
            await self.repository.session.execute(
                select(Notification.team_id, func.count())
                .where(Notification.read_at.is_(None))
                .group_by(Notification.team_id)
                .order_by(Notification.team_id)
            )
        ).all()
        teams = [TeamUnread(team_id=team_id, unread=count) for team_id, count in rows]
        return NotificationSummary(unread=sum(team.unread for team in teams), teams=teams)

    async def mark_read(self, notification_id: UUID) -> NotificationRead:
        now = datetime.now(tz=UTC)
        await self.repository.session.execute(
            update(Notification)
            .where(Notification.id == notification_id, Notification.read_at.is_(None))
            .values(read_at=now, updated_at=now)
        )
        statement = select(*_READ_COLUMNS).where(Notification.id == notification_id)
        return await fetch_one(
            self.repository.session, statement, schema=NotificationRead, missing="Notification not found."
        )

    async def mark_all_read(self, data: MarkAllRead) -> MarkedRead:
        now = datetime.now(tz=UTC)
        statement = (
            update(Notification).where(Notification.read_at.is_(None)).values(read_at=now, updated_at=now)
        )
        if data.team_id is not None:
            statement = statement.where(Notification.team_id == data.team_id)
        result = await self.repository.session.execute(statement)
        return MarkedRead(marked=result.rowcount)  # pyright: ignore[reportAttributeAccessIssue]

    async def preferences(self, user_id: UUID) -> NotificationPreferences:
        row = (
            await self.repository.session.execute(
                select(
                    NotificationPreference.digest,
                    NotificationPreference.muted_thread_ids,
                    NotificationPreference.muted_campaign_ids,
                ).where(NotificationPreference.user_id == user_id)
            )
        ).first()
        if row is None:
            return NotificationPreferences(
                digest=DigestFrequency.DAILY, muted_thread_ids=[], muted_campaign_ids=[]
            )
        digest, threads, campaigns = row
        return NotificationPreferences(
            digest=DigestFrequency(digest), muted_thread_ids=threads, muted_campaign_ids=campaigns
        )

    async def update_preferences(
        self, user_id: UUID, data: NotificationPreferences
    ) -> NotificationPreferences:
        now = datetime.now(tz=UTC)
        values = {
            "digest": data.digest.value,
            "muted_thread_ids": list(dict.fromkeys(data.muted_thread_ids)),
            "muted_campaign_ids": list(dict.fromkeys(data.muted_campaign_ids)),
        }
        statement = insert(NotificationPreference).values(
            user_id=user_id, created_at=now, updated_at=now, **values
        )
        statement = statement.on_conflict_do_update(
            index_elements=["user_id"], set_={**values, "updated_at": now}
        )
        await self.repository.session.execute(statement)
        return await self.preferences(user_id)
