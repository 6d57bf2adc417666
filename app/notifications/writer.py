"""Writing notifications in the cause's transaction (sync, on the cause's connection).

Recipients never include the actor; a unique key on (recipient, cause) makes a second write
for the same cause do nothing. Mutes are honoured for `reply` and `status_changed`. Each new
row is also published to its recipient's live topic.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import any_, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection
from uuid_utils.compat import uuid7

from app.notifications.models import Notification, NotificationPreference
from app.notifications.schemas import NotificationFrame, NotificationKind, NotificationRead
from app.realtime.publish import publish, user_topic
from app.users.models import User

MUTABLE_KINDS = frozenset({NotificationKind.REPLY, NotificationKind.STATUS_CHANGED})
TEXT_LIMIT = 300


def actor_name(connection: Connection, actor_id: UUID | None) -> str:
    if actor_id is None:
        return "The system"
    return connection.execute(select(User.name).where(User.id == actor_id)).scalar() or "Someone"


def _muted(
    connection: Connection, recipients: set[UUID], *, thread_id: UUID | None, campaign_id: UUID | None
) -> set[UUID]:
    conditions = []
    if thread_id is not None:
        conditions.append(any_(NotificationPreference.muted_thread_ids) == thread_id)  # pyright: ignore[reportAttributeAccessIssue]
    if campaign_id is not None:
        conditions.append(any_(NotificationPreference.muted_campaign_ids) == campaign_id)  # pyright: ignore[reportAttributeAccessIssue]
    if not conditions or not recipients:
        return set()
    statement = select(NotificationPreference.user_id).where(
        NotificationPreference.user_id.in_(recipients), or_(*conditions)
    )
    return set(connection.execute(statement).scalars())


def notify(
    connection: Connection,
    recipients: Iterable[UUID | None],
    *,
    kind: NotificationKind,
    team_id: UUID,
    object_type: str,
    object_id: UUID,
    campaign_id: UUID | None,
    actor_id: UUID | None,
    cause_id: UUID,
    text: str,
    thread_id: UUID | None = None,
) -> list[UUID]:
    """Write one notification per recipient (the actor excluded); returns who was notified."""
    targets = {recipient for recipient in recipients if recipient is not None and recipient != actor_id}
    if kind in MUTABLE_KINDS:
        targets -= _muted(connection, targets, thread_id=thread_id, campaign_id=campaign_id)
    if not targets:
        return []
    now = datetime.now(tz=UTC)
    rows = [
        NotificationRead(
            id=uuid7(),
            team_id=team_id,
            kind=kind,
            object_type=object_type,
            object_id=object_id,
            campaign_id=campaign_id,
            actor_id=actor_id,
            text=text[:TEXT_LIMIT],
            created_at=now,
            read_at=None,
        )
        for _ in sorted(targets)
    ]
    recipients_in_order = sorted(targets)
    # No RETURNING: the writer may not read other people's notifications (that is the policy).
    connection.execute(
        insert(Notification)
        .values(
            [
                {
                    "id": row.id,
                    "user_id": user_id,
                    "team_id": team_id,
                    "kind": kind.value,
                    "object_type": object_type,
                    "object_id": object_id,
                    "campaign_id": campaign_id,
                    "actor_id": actor_id,
                    "cause_id": cause_id,
                    "text": row.text,
                    "created_at": now,
                    "updated_at": now,
                }
                for user_id, row in zip(recipients_in_order, rows, strict=True)
            ]
        )
        # No conflict target on purpose: with one, PostgreSQL applies the SELECT policy to the
        # new rows (and refuses other people's); without, any duplicate is skipped as well.
        .on_conflict_do_nothing()
    )
    for user_id, row in zip(recipients_in_order, rows, strict=True):
        publish(connection, user_topic(user_id), NotificationFrame(topic="notifications", notification=row))
    return recipients_in_order
