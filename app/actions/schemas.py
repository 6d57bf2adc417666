"""Bodies of the action routes.

The static part (listing, envelopes) is declared here. The typed part is built from the
registry at start-up (`build_action_schemas`): one named request Struct per action, tagged by
its `action` key (`"post.approve"`), whose `input` is the action's own `InputSchema`; their
union is what the OpenAPI documents for the execute bodies (`ActionRequest`, a `oneOf` with a
discriminator on `action`), so a generated client gets one type per action and per input.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any
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
    """The registry's typed bodies, built once per application.

    Responses are one Struct per object type, tagged by `object_type` (`PostActionResult`,
    `CampaignBulkActionResult`, ...), so the object in them has its own `GetX` type.
    """

    execute_requests: dict[str, type[msgspec.Struct]]
    bulk_requests: dict[str, type[msgspec.Struct]]
    result_types: dict[str, type[msgspec.Struct]]
    bulk_item_types: dict[str, type[msgspec.Struct]]
    bulk_result_types: dict[str, type[msgspec.Struct]]


def _result_field(actions: list[BaseAction[Any]]) -> Any:
    """The `result` of a type's actions: the one result Struct they return, or any JSON if several."""
    results = {action.result_schema for action in actions if action.result_schema is not None}
    if not results:
        return None
    if len(results) == 1:
        return next(iter(results)) | None
    return dict[str, Any] | None


def _tagged(name: str, object_type: str, fields: list[Any], doc: str) -> type[msgspec.Struct]:
    struct = msgspec.defstruct(
        name,
        fields,
        bases=(Schema,),
        module=__name__,
        kw_only=True,
        tag_field="object_type",
        tag=object_type,
    )
    struct.__doc__ = doc
    return struct


def build_action_schemas(registry: ActionRegistry) -> ActionSchemas:
    actions = registry.all_actions()
    result_types: dict[str, type[msgspec.Struct]] = {}
    bulk_item_types: dict[str, type[msgspec.Struct]] = {}
    bulk_result_types: dict[str, type[msgspec.Struct]] = {}
    for object_type, kind in registry.object_types().items():
        prefix = _pascal(object_type)
        result = _result_field(registry.actions_of(object_type))
        result_types[object_type] = _tagged(
            f"{prefix}ActionResult",
            object_type,
            [("action", str), ("object", kind.read_schema), ("result", result, None)],
            f"The {object_type} after the action, as its `GetX` route returns it, and the action's own "
            "`result` where it has one (e.g. the new campaign of `campaign.duplicate`).",
        )
        item = _tagged(
            f"{prefix}BulkActionItem",
            object_type,
            [
                ("id", UUID),
                ("ok", bool),
                ("object", kind.read_schema | None, None),
                ("result", result, None),
                ("problem", ProblemDetails | None, None),
            ],
            f"One {object_type} of a bulk request: the object after the action, or its problem.",
        )
        bulk_item_types[object_type] = item
        bulk_result_types[object_type] = _tagged(
            f"{prefix}BulkActionResult",
            object_type,
            [("action", str), ("mode", BulkMode), ("succeeded", int), ("failed", int), ("items", list[item])],
            "Per object, in the order sent.",
        )
    return ActionSchemas(
        execute_requests={a.key(): _request_struct(a, bulk=False) for a in actions},
        bulk_requests={a.key(): _request_struct(a, bulk=True) for a in actions},
        result_types=result_types,
        bulk_item_types=bulk_item_types,
        bulk_result_types=bulk_result_types,
    )


def input_json_schema(action: BaseAction[Any]) -> dict[str, Any] | None:
    """The action's `InputSchema` as a self-contained JSON Schema (`$defs` included), or `None`."""
    if action.InputSchema is None:
        return None
    return msgspec.json.schema(action.InputSchema)
