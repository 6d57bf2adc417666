"""Notifications caused by activity events: `assigned`, `status_changed`, `invitation`.

Registered with `app.events` by `install()`; runs in the event's flush, on its connection, so a
notification exists exactly when its cause committed. (Mentions and replies are written by
`app.threads` with the message that causes them.)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, union
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.events.models import Event
from app.events.services import register_event_listener
from app.notifications.schemas import NotificationKind
from app.notifications.writer import NotificationDraft, actor_names, notify_all
from app.posts.models import Post
from app.teams.models import Team
from app.threads.models import Thread
from app.todos.models import Todo
from app.users.models import User

Names = Mapping[UUID | None, str]


def _new_value(event: Event, field: str) -> Any:
    change = (event.changes or {}).get(field)
    return change.get("new") if isinstance(change, dict) else None


def _assignments(connection: Connection, events: Sequence[Event], names: Names) -> list[NotificationDraft]:
    todos = {event.object_id for event in events}
    found = {
        todo_id: (campaign_id, title)
        for todo_id, campaign_id, title in connection.execute(
            select(Todo.id, Todo.campaign_id, Todo.title).where(Todo.id.in_(todos))
        )
    }
    drafts = []
    for event in events:
        if event.object_id not in found:
            continue
        campaign_id, title = found[event.object_id]
        drafts.append(
            NotificationDraft(
                recipients=frozenset({UUID(_new_value(event, "assignee_id"))}),
                kind=NotificationKind.ASSIGNED,
                team_id=event.team_id,
                object_type="todo",
                object_id=event.object_id,
                campaign_id=campaign_id,
                actor_id=event.actor_id,
                cause_id=event.id,
                text=f"{names[event.actor_id]} assigned you a to-do: {title}",
            )
        )
    return drafts


def _post_moves(connection: Connection, events: Sequence[Event], names: Names) -> list[NotificationDraft]:
    """To whoever created the post (its `created` event's actor) and the assignees of its to-dos."""
    posts = {event.object_id for event in events}
    placed = {
        post_id: (campaign_id, thread_id)
        for post_id, campaign_id, thread_id in connection.execute(
            select(Post.id, Post.campaign_id, Thread.id)
            .outerjoin(Thread, (Thread.object_type == "post") & (Thread.object_id == Post.id))
            .where(Post.id.in_(posts))
        )
    }
    creators = select(Event.object_id.label("post_id"), Event.actor_id.label("user_id")).where(
        Event.object_type == "post", Event.object_id.in_(posts), Event.event_type == "created"
    )
    assignees = select(Todo.post_id, Todo.assignee_id).where(Todo.post_id.in_(posts))
    recipients: dict[UUID, set[UUID]] = defaultdict(set)
    for post_id, user_id in connection.execute(union(creators, assignees)):
        if user_id is not None:
            recipients[post_id].add(user_id)
    drafts = []
    for event in events:
        if event.object_id not in placed:
            continue
        campaign_id, thread_id = placed[event.object_id]
        drafts.append(
            NotificationDraft(
                recipients=frozenset(recipients[event.object_id]),
                kind=NotificationKind.STATUS_CHANGED,
                team_id=event.team_id,
                object_type="post",
                object_id=event.object_id,
                campaign_id=campaign_id,
                actor_id=event.actor_id,
                cause_id=event.id,
                text=f"{names[event.actor_id]} moved a post to {_new_value(event, 'status')}",
                thread_id=thread_id,
            )
        )
    return drafts


def _invitations(connection: Connection, events: Sequence[Event], names: Names) -> list[NotificationDraft]:
    emails = {str(_new_value(event, "email")).lower() for event in events}
    invitees = dict(
        connection.execute(
            select(func.lower(User.email), User.id).where(func.lower(User.email).in_(emails))
        ).all()
    )
    if not invitees:
        return []  # no accounts yet: the invitation emails are the notice
    team_ids = {event.team_id for event in events}
    teams = dict(connection.execute(select(Team.id, Team.name).where(Team.id.in_(team_ids))).all())
    drafts = []
    for event in events:
        invitee = invitees.get(str(_new_value(event, "email")).lower())
        if invitee is None:
            continue
        drafts.append(
            NotificationDraft(
                recipients=frozenset({invitee}),
                kind=NotificationKind.INVITATION,
                team_id=event.team_id,
                object_type="team_invitation",
                object_id=event.object_id,
                campaign_id=None,
                actor_id=event.actor_id,
                cause_id=event.id,
                text=f"{names[event.actor_id]} invited you to join {teams.get(event.team_id) or 'a team'}",
            )
        )
    return drafts


def notify_from_events(session: Session, events: Sequence[Event]) -> None:
    """Whatever the number of events: one query per kind of cause present, one for the actors'
    names, then `notify_all`'s (mutes, insert, `pg_notify`)."""
    assigned = [
        event
        for event in events
        if event.object_type == "todo"
        and event.event_type in {"created", "updated"}
        and _new_value(event, "assignee_id")
    ]
    moved = [
        event for event in events if event.object_type == "post" and event.event_type == "status_changed"
    ]
    invited = [
        event
        for event in events
        if event.object_type == "team_invitation"
        and event.event_type == "created"
        and _new_value(event, "email")
    ]
    causes = [*assigned, *moved, *invited]
    if not causes:
        return
    connection = session.connection()
    names = actor_names(connection, (event.actor_id for event in causes))
    drafts: list[NotificationDraft] = []
    for of_kind, write in ((assigned, _assignments), (moved, _post_moves), (invited, _invitations)):
        if of_kind:
            drafts.extend(write(connection, of_kind, names))
    notify_all(connection, drafts)


def install() -> None:
    register_event_listener("notifications.from_events", notify_from_events)
