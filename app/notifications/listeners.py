"""Notifications caused by activity events: `assigned`, `status_changed`, `invitation`.

Registered with `app.events` by `install()`; runs in the event's flush, on its connection, so a
notification exists exactly when its cause committed. (Mentions and replies are written by
`app.threads` with the message that causes them.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, union
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.events.models import Event
from app.events.services import register_event_listener
from app.notifications.schemas import NotificationKind
from app.notifications.writer import actor_name, notify
from app.posts.models import Post
from app.teams.models import Team
from app.threads.store import thread_id_of
from app.todos.models import Todo
from app.users.models import User


def _new_value(event: Event, field: str) -> Any:
    change = (event.changes or {}).get(field)
    return change.get("new") if isinstance(change, dict) else None


def _assigned(connection: Connection, event: Event) -> None:
    assignee = _new_value(event, "assignee_id")
    if event.event_type not in {"created", "updated"} or not assignee:
        return
    row = connection.execute(select(Todo.campaign_id, Todo.title).where(Todo.id == event.object_id)).first()
    if row is None:
        return
    campaign_id, title = row
    notify(
        connection,
        [UUID(assignee)],
        kind=NotificationKind.ASSIGNED,
        team_id=event.team_id,
        object_type="todo",
        object_id=event.object_id,
        campaign_id=campaign_id,
        actor_id=event.actor_id,
        cause_id=event.id,
        text=f"{actor_name(connection, event.actor_id)} assigned you a to-do: {title}",
    )


def _post_status_changed(connection: Connection, event: Event) -> None:
    """To whoever created the post (its `created` event's actor) and the assignees of its to-dos."""
    campaign_id = connection.execute(select(Post.campaign_id).where(Post.id == event.object_id)).scalar()
    if campaign_id is None:
        return
    creators = select(Event.actor_id.label("user_id")).where(
        Event.object_type == "post", Event.object_id == event.object_id, Event.event_type == "created"
    )
    assignees = select(Todo.assignee_id.label("user_id")).where(Todo.post_id == event.object_id)
    recipients = connection.execute(union(creators, assignees)).scalars().all()
    status = _new_value(event, "status")
    notify(
        connection,
        recipients,
        kind=NotificationKind.STATUS_CHANGED,
        team_id=event.team_id,
        object_type="post",
        object_id=event.object_id,
        campaign_id=campaign_id,
        actor_id=event.actor_id,
        cause_id=event.id,
        text=f"{actor_name(connection, event.actor_id)} moved a post to {status}",
        thread_id=thread_id_of(connection, "post", event.object_id),
    )


def _invited(connection: Connection, event: Event) -> None:
    email = _new_value(event, "email")
    if event.event_type != "created" or not email:
        return
    invitee = connection.execute(select(User.id).where(func.lower(User.email) == str(email).lower())).scalar()
    if invitee is None:
        return  # no account yet: the invitation email is the notice
    team_name = connection.execute(select(Team.name).where(Team.id == event.team_id)).scalar() or "a team"
    notify(
        connection,
        [invitee],
        kind=NotificationKind.INVITATION,
        team_id=event.team_id,
        object_type="team_invitation",
        object_id=event.object_id,
        campaign_id=None,
        actor_id=event.actor_id,
        cause_id=event.id,
        text=f"{actor_name(connection, event.actor_id)} invited you to join {team_name}",
    )


def notify_from_events(session: Session, events: Sequence[Event]) -> None:
    connection = session.connection()
    for event in events:
        if event.object_type == "todo":
            _assigned(connection, event)
        elif event.object_type == "post" and event.event_type == "status_changed":
            _post_status_changed(connection, event)
        elif event.object_type == "team_invitation":
            _invited(connection, event)


def install() -> None:
    register_event_listener("notifications.from_events", notify_from_events)
