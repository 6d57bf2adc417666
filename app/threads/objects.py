"""Which objects have threads, and whether the caller can see one (404 whether or not it exists)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.threadable import threadable_models
from app.lib.deps import TeamAccess
from app.lib.errors import BadRequestError, ResourceNotFoundError
from app.lib.roles import TeamRole


@dataclass(frozen=True, slots=True)
class ThreadObject:
    team_id: UUID
    object_type: str
    object_id: UUID
    campaign_id: UUID | None


def object_types() -> list[str]:
    return list(threadable_models())


def model_for(object_type: str) -> type:
    model = threadable_models().get(object_type)
    if model is None:
        valid = ", ".join(object_types())
        raise BadRequestError(
            f"object_type: {object_type!r} has no threads; use one of: {valid}.",
            extra={
                "errors": [{"key": "object_type", "message": f"must be one of: {valid}", "source": "path"}]
            },
        )
    return model


async def visible_object(
    session: AsyncSession, access: TeamAccess, object_type: str, object_id: UUID
) -> ThreadObject:
    """The object as the caller's row-level context shows it; guests never see team-level objects."""
    model = model_for(object_type)
    key = model.__thread_campaign_key__  # pyright: ignore[reportAttributeAccessIssue]
    missing = ResourceNotFoundError(f"No {object_type} with this id in this team.")
    if key is None and access.role is TeamRole.GUEST:
        raise missing
    campaign = getattr(model, key) if key is not None else literal(None)
    statement = select(campaign).where(model.id == object_id, model.team_id == access.team_id)  # pyright: ignore[reportAttributeAccessIssue]
    row = (await session.execute(statement)).first()
    if row is None:
        raise missing
    return ThreadObject(
        team_id=access.team_id, object_type=object_type, object_id=object_id, campaign_id=row[0]
    )
