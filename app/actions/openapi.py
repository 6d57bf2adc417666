"""The execute bodies in the OpenAPI: a `oneOf` of one named Struct per action, discriminated on `action`.

The routes read the raw JSON (`ActionRequestBody`) so that `parse_input` can name every bad
field at once; this plugin documents that body as the typed union instead.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.openapi.spec import Discriminator, Reference, Schema
from litestar.params import KwargDefinition
from litestar.plugins import OpenAPISchemaPlugin
from litestar.typing import FieldDefinition


class ActionRequestBody:
    """The raw JSON body of an execute request (validated by the action service)."""

    __slots__ = ("raw",)

    def __init__(self, raw: Any) -> None:
        self.raw = raw


class BulkActionRequestBody(ActionRequestBody):
    __slots__ = ()


def is_action_body(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, ActionRequestBody)


def decode_action_body(target: type[ActionRequestBody], value: Any) -> ActionRequestBody:
    return target(value)


action_body_decoders = [(is_action_body, decode_action_body)]


class ActionBodySchemaPlugin(OpenAPISchemaPlugin):
    def __init__(
        self,
        execute_requests: dict[str, type[msgspec.Struct]],
        bulk_requests: dict[str, type[msgspec.Struct]],
    ) -> None:
        self._bodies: dict[type[ActionRequestBody], dict[str, type[msgspec.Struct]]] = {
            ActionRequestBody: execute_requests,
            BulkActionRequestBody: bulk_requests,
        }

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return field_definition.annotation in self._bodies

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        requests = self._bodies[field_definition.annotation]
        refs: dict[str, Schema | Reference] = {
            # a fixed component name, so the discriminator's mapping can name it now
            tag: schema_creator.for_field_definition(
                FieldDefinition.from_annotation(
                    struct, kwarg_definition=KwargDefinition(schema_component_key=struct.__name__)
                )
            )
            for tag, struct in requests.items()
        }
        mapping = {tag: ref.ref for tag, ref in refs.items() if isinstance(ref, Reference)}
        return Schema(
            one_of=list(refs.values()),
            discriminator=Discriminator(property_name="action", mapping=mapping),
        )
