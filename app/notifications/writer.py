"""Writing notifications in the cause's transaction (sync, on the cause's connection).

Recipients never include the actor; a unique key on (recipient, cause) makes a second write
for the same cause do nothing. Mutes are honoured for `reply` and `status_changed`. Each new
row is also published to its recipient's live topic.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection
from uuid_utils.compat import uuid7

from app.notifications.models import Notification, NotificationPreference
from app.notifications.schemas import NotificationFrame, NotificationKind, NotificationRead
from app.realtime.publish import Publication, publish_many, user_topic
from app.users.models import User

MUTABLE_KINDS = frozenset({NotificationKind.REPLY, NotificationKind.STATUS_CHANGED})
TEXT_LIMIT = 300


def actor_name(connection: Connection, actor_id: UUID | None) -> str:
    if actor_id is None:
        return "The system"
    return connection.execute(select(User.name).where(User.id == actor_id)).scalar() or "Someone"


def actor_names(connection: Connection, actor_ids: Iterable[UUID | None]) -> dict[UUID | None, str]:
    """`actor_name` for many actors in one query (`None`, the system, needs none)."""
    wanted = {actor_id for actor_id in actor_ids if actor_id is not None}
    names: dict[UUID | None, str] = {None: "The system"}
    if wanted:
        rows = connection.execute(select(User.id, User.name).where(User.id.in_(wanted)))
        names.update({user_id: name or "Someone" for user_id, name in rows})
    return names


class NotificationDraft(msgspec.Struct, frozen=True, kw_only=True):
    """One cause's notification, before mutes and the actor are taken out of its recipients."""

    recipients: frozenset[UUID]
    kind: NotificationKind
    team_id: UUID
    object_type: str
    object_id: UUID
    campaign_id: UUID | None
    actor_id: UUID | None
    cause_id: UUID
    text: str
    thread_id: UUID | None = None

    def targets(self) -> set[UUID]:
        return set(self.recipients) - {self.actor_id} if self.actor_id else set(self.recipients)


class _Mutes(msgspec.Struct, frozen=True):
    threads: frozenset[UUID]
    campaigns: frozenset[UUID]

    def silence(self, draft: NotificationDraft) -> bool:
        return draft.thread_id in self.threads or draft.campaign_id in self.campaigns


def _mutes_of(connection: Connection, users: set[UUID]) -> dict[UUID, _Mutes]:
    if not users:
        return {}
    statement = select(
        NotificationPreference.user_id,
        NotificationPreference.muted_thread_ids,
        NotificationPreference.muted_campaign_ids,
    ).where(NotificationPreference.user_id.in_(users))
    return {
        user_id: _Mutes(frozenset(threads or ()), frozenset(campaigns or ()))
        for user_id, threads, campaigns in connection.execute(statement)
    }


def notify_all(connection: Connection, drafts: Sequence[NotificationDraft]) -> list[list[UUID]]:
    """Write every draft's notifications (one per recipient, the actor excluded, mutes honoured
    for `reply` and `status_changed`) and publish each to its recipient: at most three statements
    (mutes, insert, `pg_notify`) whatever the number of drafts. Returns who was notified, per draft."""
    targets = [draft.targets() for draft in drafts]
    mutable = set().union(*(t for d, t in zip(drafts, targets, strict=True) if d.kind in MUTABLE_KINDS))
    mutes = _mutes_of(connection, mutable)
    now = datetime.now(tz=UTC)
    values: list[dict[str, Any]] = []
    publications: list[Publication] = []
    notified: list[list[UUID]] = []
    for draft, recipients in zip(drafts, targets, strict=True):
        chosen = sorted(
            user_id
            for user_id in recipients
            if draft.kind not in MUTABLE_KINDS or user_id not in mutes or not mutes[user_id].silence(draft)
        )
        notified.append(chosen)
        for user_id in chosen:
            row = NotificationRead(
                id=uuid7(),
                team_id=draft.team_id,
                kind=draft.kind,
                object_type=draft.object_type,
                object_id=draft.object_id,
                campaign_id=draft.campaign_id,
                actor_id=draft.actor_id,
                text=draft.text[:TEXT_LIMIT],
                created_at=now,
                read_at=None,
            )
            values.append(
                {
                    "id": row.id,
                    "user_id": user_id,
                    "team_id": draft.team_id,
                    "kind": draft.kind.value,
                    "object_type": draft.object_type,
                    "object_id": draft.object_id,
                    "campaign_id": draft.campaign_id,
                    "actor_id": draft.actor_id,
                    "cause_id": draft.cause_id,
                    "text": row.text,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            publications.append(
                Publication(user_topic(user_id), NotificationFrame(topic="notifications", notification=row))
            )
    if values:
        # No RETURNING: the writer may not read other people's notifications (that is the policy).
        # No conflict target on purpose: with one, PostgreSQL applies the SELECT policy to the
        # new rows (and refuses other people's); without, any duplicate is skipped as well.
        # One row as `.values(dict)`: SQLAlchemy caches that compiled; a multi-row VALUES it never
        # caches, so it is compiled again on every call (see `app.threads.store.with_rows`).
        rows: Any = values[0] if len(values) == 1 else values
        connection.execute(insert(Notification).values(rows).on_conflict_do_nothing())
        publish_many(connection, publications)
    return notified


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
    draft = NotificationDraft(
        recipients=frozenset(recipient for recipient in recipients if recipient is not None),
        kind=kind,
        team_id=team_id,
        object_type=object_type,
        object_id=object_id,
        campaign_id=campaign_id,
        actor_id=actor_id,
        cause_id=cause_id,
        text=text,
        thread_id=thread_id,
    )
    [notified] = notify_all(connection, [draft])
    return notified
