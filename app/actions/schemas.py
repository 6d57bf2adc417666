"""Bodies of the action routes.

The static part (listing, envelopes) is declared here. The typed part is built from the
registry at start-up (`build_action_schemas`): one named request Struct per action, tagged by
its `action` key (`"post.approve"`), whose `input` is the action's own `InputSchema`; their
union is what the OpenAPI documents for the execute bodies (a `oneOf` with a discriminator on
`action`), so a generated client gets one type per action and per input.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Union
from uuid import UUID

import msgspec

from app.actions.base import BaseAction
from app.actions.registry import ActionRegistry
from app.lib.errors import ProblemDetails
from app.lib.schema import Schema, Version

MAX_BULK_OBJECTS = 100


class ActionRead(Schema):
    """One action of an object, as the caller may see it now."""

    action: str
    """`object_type.name`: the `action` tag of the request bodies."""
    name: str
    label: str
    icon: str
    description: str
    input_schema: dict[str, Any] | None
    """JSON Schema of `input`; `null` when the action takes none."""
    available: bool
    unavailable_reason: str | None
    """Why it cannot run now (e.g. "Only submitted posts can be approved."); `null` when available."""


class ActionList(Schema):
    """Every action of the object the caller's role allows (all of them: `limit` is `total`)."""

    items: list[ActionRead]
    total: int
    limit: int
    offset: int


class BulkMode(StrEnum):
    ALL = "all"
    """All or nothing: one object that cannot take the action fails the whole request."""
    EACH = "each"
    """Each object on its own: the others are applied, the failures reported per object."""


class ActionObjectRef(Schema):
    id: UUID
    version: Version


BulkObjects = Annotated[list[ActionObjectRef], msgspec.Meta(min_length=1, max_length=MAX_BULK_OBJECTS)]


class ExecuteEnvelope(Schema, kw_only=True):
    """What the execute route reads before the action's own input (which `parse_input` checks)."""

    action: str | None = None
    input: Any = None
    version: Version


class BulkEnvelope(Schema, kw_only=True):
    action: str | None = None
    input: Any = None
    objects: BulkObjects
    mode: BulkMode = BulkMode.ALL


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def type_prefix(action: BaseAction[Any]) -> str:
    return _pascal(action.object_type) + _pascal(action.name)


def _union(types: list[Any]) -> Any:
    if not types:
        return None
    return Union[tuple(types)]  # noqa: UP007  (built at run time from the registry)


def _request_struct(action: BaseAction[Any], *, bulk: bool) -> type[msgspec.Struct]:
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    if action.InputSchema is not None:
        fields.append(("input", action.InputSchema))
    else:
        fields.append(("input", None, None))
    if bulk:
        fields += [("objects", BulkObjects), ("mode", BulkMode, BulkMode.ALL)]
    else:
        fields.append(("version", Version))
    suffix = "BulkRequest" if bulk else "Request"
    return msgspec.defstruct(
        f"{type_prefix(action)}{suffix}",
        fields,
        bases=(Schema,),
        module=__name__,
        tag_field="action",
        tag=action.key(),
        kw_only=True,
    )


@dataclass(frozen=True, slots=True)
class ActionSchemas:
    """The registry's typed bodies, built once per application."""

    execute_requests: dict[str, type[msgspec.Struct]]
    bulk_requests: dict[str, type[msgspec.Struct]]
    result_type: type[msgspec.Struct]
    bulk_item_type: type[msgspec.Struct]
    bulk_result_type: type[msgspec.Struct]


def build_action_schemas(registry: ActionRegistry) -> ActionSchemas:
    actions = registry.all_actions()
    objects = _union([kind.read_schema for kind in registry.object_types().values()]) or Any
    results = _union(sorted({a.result_schema for a in actions if a.result_schema}, key=lambda t: t.__name__))
    result_field = (results | None) if results is not None else None  # pyright: ignore[reportOptionalOperand]
    result_type = msgspec.defstruct(
        "ActionResult",
        [
            ("action", str),
            ("object_type", str),
            ("object", objects),
            ("result", result_field, None),
        ],
        bases=(Schema,),
        module=__name__,
        kw_only=True,
    )
    result_type.__doc__ = (
        "The object after the action, as its `GetX` route returns it, and the action's own result "
        "(e.g. the new campaign of `campaign.duplicate`), `null` for most actions."
    )
    bulk_item_type = msgspec.defstruct(
        "BulkActionItem",
        [
            ("id", UUID),
            ("ok", bool),
            ("object", objects | None, None),
            ("result", result_field, None),
            ("problem", ProblemDetails | None, None),
        ],
        bases=(Schema,),
        module=__name__,
        kw_only=True,
    )
    bulk_item_type.__doc__ = "One object of a bulk request: the object after the action, or the problem."
    bulk_result_type = msgspec.defstruct(
        "BulkActionResult",
        [
            ("action", str),
            ("mode", BulkMode),
            ("succeeded", int),
            ("failed", int),
            ("items", list[bulk_item_type]),
        ],
        bases=(Schema,),
        module=__name__,
        kw_only=True,
    )
    bulk_result_type.__doc__ = "Per object, in the order sent."
    return ActionSchemas(
        execute_requests={a.key(): _request_struct(a, bulk=False) for a in actions},
        bulk_requests={a.key(): _request_struct(a, bulk=True) for a in actions},
        result_type=result_type,
        bulk_item_type=bulk_item_type,
        bulk_result_type=bulk_result_type,
    )


def input_json_schema(action: BaseAction[Any]) -> dict[str, Any] | None:
    """The action's `InputSchema` as a self-contained JSON Schema (`$defs` included), or `None`."""
    if action.InputSchema is None:
        return None
    return msgspec.json.schema(action.InputSchema)
