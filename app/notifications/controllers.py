"""Your notifications under `/api/notifications` (any signed-in user; only ever your own)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK
from sqlalchemy.ext.asyncio import AsyncSession

from app.lib.auth import AuthUser
from app.lib.errors import problem_responses
from app.lib.pagination import MAX_PAGE_SIZE
from app.notifications.schemas import (
    MarkAllRead,
    MarkedRead,
    NotificationList,
    NotificationPreferences,
    NotificationRead,
    NotificationSummary,
)
from app.notifications.services import NotificationService

ERRORS = problem_responses(400, 401, 404)


def provide_notifications(db_session: NamedDependency[AsyncSession]) -> NotificationService:
    return NotificationService(session=db_session)


class NotificationController(Controller):
    path = "/api/notifications"
    tags = ["Notifications"]
    dependencies = {"notifications": Provide(provide_notifications, sync_to_thread=False)}

    @get("", operation_id="ListNotifications", responses=ERRORS)
    async def list_notifications(
        self,
        notifications: NamedDependency[NotificationService],
        unread: Annotated[bool, Parameter(description="Only unread ones.")] = False,
        before: Annotated[UUID | None, Parameter(description="Only older than this notification id.")] = None,
        limit: Annotated[int, Parameter(ge=1, le=MAX_PAGE_SIZE, description="Per page (1-100).")] = 20,
    ) -> NotificationList:
        """Your notifications, newest first, across your teams; page with `before`."""
        return await notifications.list_notifications(unread=unread, before=before, limit=limit)

    @get("/summary", operation_id="GetNotificationSummary", responses=ERRORS)
    async def get_notification_summary(
        self, notifications: NamedDependency[NotificationService]
    ) -> NotificationSummary:
        """Your unread count, overall and per team."""
        return await notifications.summary()

    @post(
        "/{notification_id:uuid}/read",
        operation_id="MarkNotificationRead",
        responses=ERRORS,
        status_code=HTTP_200_OK,
    )
    async def mark_notification_read(
        self, notification_id: FromPath[UUID], notifications: NamedDependency[NotificationService]
    ) -> NotificationRead:
        """Mark one of your notifications read (marking it again changes nothing)."""
        return await notifications.mark_read(notification_id)

    @post("/read", operation_id="MarkAllNotificationsRead", responses=ERRORS, status_code=HTTP_200_OK)
    async def mark_all_notifications_read(
        self, notifications: NamedDependency[NotificationService], data: JSONBody[MarkAllRead]
    ) -> MarkedRead:
        """Mark all your unread notifications read, or only one team's."""
        return await notifications.mark_all_read(data)

    @get("/preferences", operation_id="GetNotificationPreferences", responses=ERRORS)
    async def get_notification_preferences(
        self, current_user: NamedDependency[AuthUser], notifications: NamedDependency[NotificationService]
    ) -> NotificationPreferences:
        """Your mutes and email digest frequency (daily unless you changed it)."""
        return await notifications.preferences(current_user.id)

    @put("/preferences", operation_id="UpdateNotificationPreferences", responses=ERRORS)
    async def update_notification_preferences(
        self,
        current_user: NamedDependency[AuthUser],
        notifications: NamedDependency[NotificationService],
        data: JSONBody[NotificationPreferences],
    ) -> NotificationPreferences:
        """Replace your preferences: digest `off`/`hourly`/`daily`, muted thread and campaign ids."""
        return await notifications.update_preferences(current_user.id, data)
