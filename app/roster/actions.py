"""Creator actions: archive, restore, add a tag, remove a tag — each an `UpdateCreator` of one
field, through `CreatorService.update_creator` (same checks, same events)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.actions import ActionContext, BaseAction, ObjectType, action_registry
from app.lib.errors import ConflictError, invalid_field
from app.lib.roles import TeamRole
from app.lib.schema import Schema
from app.roster.models import Creator
from app.roster.schemas import CreatorRead, CreatorUpdate, Tag
from app.roster.services import CreatorService

MAX_TAGS = 30


class CreatorObjects(ObjectType[Creator]):
    name = "creator"
    read_schema = CreatorRead
    read_role = TeamRole.MEMBER

    async def load(
        self, session: AsyncSession, object_ids: Sequence[UUID], *, for_change: bool
    ) -> dict[UUID, Creator]:
        return await CreatorService(session=session).creators(object_ids, for_change=for_change)

    def version_of(self, target: Creator) -> int:
        return target.version

    async def read(self, session: AsyncSession, object_ids: Sequence[UUID]) -> dict[UUID, Any]:
        return dict(await CreatorService(session=session).read_many(object_ids))


action_registry.add_object_type(CreatorObjects())


class CreatorChange(BaseAction[Creator]):
    def changes(self, target: Creator, data: Any) -> dict[str, Any]:
        raise NotImplementedError

    async def execute(self, context: ActionContext, target: Creator, data: Any) -> None:
        fields: dict[str, Any] = {
            "name": target.name,
            "handles": dict(target.handles),
            "follower_counts": dict(target.follower_counts),
            "contact_email": target.contact_email,
            "tags": list(target.tags),
            "notes": target.notes,
            "archived": target.archived_at is not None,
            "version": target.version,
        }
        fields.update(self.changes(target, data))
        await CreatorService(session=context.session).update_creator(
            target.id, actor_id=context.actor_id, data=CreatorUpdate(**fields)
        )


@action_registry.register("creator")
class ArchiveCreator(CreatorChange):
    name = "archive"
    label = "Archive"
    icon = "archive"
    description = "Hide the creator from the roster and from new bookings; their history stays."

    def unavailable_reason(self, target: Creator, context: ActionContext) -> str | None:
        return "This creator is already archived." if target.archived_at is not None else None

    def changes(self, target: Creator, data: Any) -> dict[str, Any]:
        return {"archived": True}


@action_registry.register("creator")
class RestoreCreator(CreatorChange):
    name = "restore"
    label = "Restore"
    icon = "archive-restore"
    description = "Bring the archived creator back to the roster."

    def unavailable_reason(self, target: Creator, context: ActionContext) -> str | None:
        return None if target.archived_at is not None else "Only archived creators can be restored."

    def changes(self, target: Creator, data: Any) -> dict[str, Any]:
        return {"archived": False}


class CreatorTagInput(Schema):
    tag: Tag


@action_registry.register("creator")
class AddCreatorTag(CreatorChange):
    name = "add_tag"
    label = "Add tag"
    icon = "tag"
    description = "Add a tag to the creator (a tag they already have is left as it is)."
    InputSchema = CreatorTagInput

    def changes(self, target: Creator, data: CreatorTagInput) -> dict[str, Any]:
        tag = data.tag.strip()
        if tag in target.tags:
            return {}
        if len(target.tags) >= MAX_TAGS:
            raise ConflictError(f"A creator has at most {MAX_TAGS} tags; remove one first.")
        return {"tags": [*target.tags, tag]}


@action_registry.register("creator")
class RemoveCreatorTag(CreatorChange):
    name = "remove_tag"
    label = "Remove tag"
    icon = "tag-x"
    description = "Remove one of the creator's tags."
    InputSchema = CreatorTagInput

    def unavailable_reason(self, target: Creator, context: ActionContext) -> str | None:
        return None if target.tags else "This creator has no tags."

    def changes(self, target: Creator, data: CreatorTagInput) -> dict[str, Any]:
        tag = data.tag.strip()
        if tag not in target.tags:
            raise invalid_field("input.tag", "is not one of the creator's tags")
        return {"tags": [t for t in target.tags if t != tag]}
