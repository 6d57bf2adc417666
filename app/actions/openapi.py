"""The action bodies in the OpenAPI: named unions of one named Struct per action (or object type).

The routes read the raw JSON (`ActionRequestBody`) so that `parse_input` can name every bad
field at once, and answer with encoded bytes; this plugin documents the bodies as the typed
unions instead, each a named component (`ActionRequest`: a `oneOf` discriminated on `action`;
`ActionResult`: on `object_type`), so generated clients name the union types too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
from litestar.openapi.spec import Discriminator, Reference, Schema
from litestar.params import KwargDefinition
from litestar.plugins import OpenAPISchemaPlugin
from litestar.typing import FieldDefinition

if TYPE_CHECKING:
    from app.actions.schemas import ActionSchemas


class ActionRequestBody:
    """The raw JSON body of an execute request (validated by the action service)."""

    __slots__ = ("raw",)

    def __init__(self, raw: Any) -> None:
        self.raw = raw


class BulkActionRequestBody(ActionRequestBody):
    __slots__ = ()


class ActionResultBody:
    """Documents an execute response (the routes send it already encoded)."""


class BulkActionResultBody:
    """Documents a bulk execute response."""


def is_action_body(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, ActionRequestBody)


def decode_action_body(target: type[ActionRequestBody], value: Any) -> ActionRequestBody:
    return target(value)


action_body_decoders = [(is_action_body, decode_action_body)]


@dataclass(frozen=True, slots=True)
class _NamedUnion:
    component: str
    """Its name under `components/schemas`."""
    tag_field: str
    members: dict[str, type[msgspec.Struct]]
    """Tag value -> the member Struct."""
    description: str


class ActionBodySchemaPlugin(OpenAPISchemaPlugin):
    def __init__(self, schemas: ActionSchemas) -> None:
        self._unions: dict[type, _NamedUnion] = {
            ActionRequestBody: _NamedUnion(
                "ActionRequest",
                "action",
                schemas.execute_requests,
                "The body of ExecuteObjectAction: one type per action, `action` names it.",
            ),
            BulkActionRequestBody: _NamedUnion(
                "BulkActionRequest",
                "action",
                schemas.bulk_requests,
                "The body of ExecuteBulkAction: one type per action, `action` names it.",
            ),
            ActionResultBody: _NamedUnion(
                "ActionResult",
                "object_type",
                schemas.result_types,
                "What ExecuteObjectAction returns: one type per object type, `object_type` names it.",
            ),
            BulkActionResultBody: _NamedUnion(
                "BulkActionResult",
                "object_type",
                schemas.bulk_result_types,
                "What ExecuteBulkAction returns: one type per object type, `object_type` names it.",
            ),
        }

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return field_definition.annotation in self._unions

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema | Reference:  # pyright: ignore[reportIncompatibleMethodOverride]
        union = self._unions[field_definition.annotation]
        named = FieldDefinition.from_annotation(
            field_definition.annotation,
            kwarg_definition=KwargDefinition(schema_component_key=union.component),
        )
        registry = schema_creator.schema_registry
        schema: Schema = registry.get_schema_for_field_definition(named)
        refs: dict[str, Schema | Reference] = {
            # fixed component names, so the discriminator's mapping can name them now
            tag: schema_creator.for_field_definition(
                FieldDefinition.from_annotation(
                    struct, kwarg_definition=KwargDefinition(schema_component_key=struct.__name__)
                )
            )
            for tag, struct in union.members.items()
        }
        schema.title = union.component
        schema.description = union.description
        schema.one_of = list(refs.values())
        schema.discriminator = Discriminator(
            property_name=union.tag_field,
            mapping={tag: ref.ref for tag, ref in refs.items() if isinstance(ref, Reference)},
        )
        return registry.get_reference_for_field_definition(named) or schema
