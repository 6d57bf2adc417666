"""What an action and an object type are.

An `ObjectType` knows how to load its objects by id (what actions work on, the "target"), how
to read them as the matching `GetX` route returns them, and which version a target has. A
`BaseAction` names one operation on targets of one type: its label and icon for menus, its
`InputSchema` for the form, the lowest role that may run it, why it is unavailable in a given
state, and `execute`, which calls the domain's services.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar
from uuid import UUID

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.lib.deps import TeamAccess
from app.lib.roles import TeamRole

TargetT = TypeVar("TargetT")


@dataclass(frozen=True, slots=True)
class ActionContext:
    """Who runs the action, in which team, on which session (the request's transaction)."""

    session: AsyncSession
    access: TeamAccess

    @property
    def actor_id(self) -> UUID:
        return self.access.user_id

    @property
    def team_id(self) -> UUID:
        return self.access.team_id


class ObjectType(Generic[TargetT]):
    """One kind of object actions work on (`post`, `campaign`, ...), defined by its domain."""

    name: ClassVar[str]
    """Stable, snake_case: the `{object_type}` of the action routes."""
    read_schema: ClassVar[type[msgspec.Struct]]
    """What the domain's `GetX` route returns; action responses carry the object in this shape."""
    read_role: ClassVar[TeamRole] = TeamRole.GUEST
    """The lowest role that may read such objects (as on the `GetX` route); below it, 403."""

    async def load(
        self, session: AsyncSession, object_ids: Sequence[UUID], *, for_change: bool
    ) -> dict[UUID, TargetT]:
        """The visible objects among `object_ids` (row-level security hides the rest), in one query.

        `for_change`: lock what the availability checks rely on until commit.
        """
        raise NotImplementedError

    def version_of(self, target: TargetT) -> int:
        raise NotImplementedError

    async def read(self, session: AsyncSession, object_ids: Sequence[UUID]) -> dict[UUID, msgspec.Struct]:
        """The objects as `read_schema`, in one query."""
        raise NotImplementedError


class BaseAction(Generic[TargetT]):
    """One named operation on objects of one type. Subclass, set the class attributes, register.

    `execute` must go through the domain's services (so versions, events and whatever listens to
    them follow). `execute_many` runs the action on several targets of one bulk request; override
    it when the domain can do the work set-based (one statement for all), else it loops.
    """

    object_type: ClassVar[str] = ""
    """Set by `action_registry.register(...)`."""
    name: ClassVar[str]
    """Stable, snake_case, unique per object type: the `{action_name}` of the routes."""
    label: ClassVar[str]
    icon: ClassVar[str]
    """An icon name the frontend maps to its icon set (Lucide names: `check`, `archive`, ...)."""
    description: ClassVar[str]
    InputSchema: ClassVar[type[msgspec.Struct] | None] = None
    """A msgspec Struct with what the action needs from the user, or `None`."""
    result_schema: ClassVar[type[msgspec.Struct] | None] = None
    """What `execute` returns besides the object (e.g. the new campaign of a duplicate), if anything."""
    required_role: ClassVar[TeamRole] = TeamRole.MEMBER
    """The lowest team role that may run it; callers below it do not even see it listed."""

    @classmethod
    def key(cls) -> str:
        """`object_type.name`: the `action` tag of the request bodies, unique across types."""
        return f"{cls.object_type}.{cls.name}"

    def unavailable_reason(self, target: TargetT, context: ActionContext) -> str | None:
        """Why the action cannot run on `target` now (a sentence for the user), or `None`."""
        return None

    async def execute(self, context: ActionContext, target: TargetT, data: Any) -> msgspec.Struct | None:
        raise NotImplementedError

    async def execute_many(
        self, context: ActionContext, targets: Sequence[TargetT], data: Any
    ) -> list[msgspec.Struct | None]:
        return [await self.execute(context, target, data) for target in targets]
