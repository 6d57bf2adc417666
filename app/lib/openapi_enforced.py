"""The OpenAPI document states what the server enforces (the contract rules for clients are in `app.lib.openapi`).

Litestar's generator leaves out a few things the server does: request and response bodies
reject unknown fields (`forbid_unknown_fields`), every body may be refused by the decoding
boundary (413, 415), and any operation may meet a database outage (503). This adds them
once, to the generated document, so each route need not repeat them.
"""

from __future__ import annotations

import copy
from typing import Any

import msgspec
from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin  # pyright: ignore[reportPrivateImportUsage]
from litestar.openapi.spec import OpenAPI, OpenAPIResponse, Operation

_BODY_STATUSES = {
    "400": "Malformed JSON (bad encoding, too deep), unknown fields or invalid values; `errors` names each field.",
    "413": "The request body is too large.",
    "415": "The body is not `application/json`.",
}
_METHODS = ("get", "put", "post", "delete", "patch")


def _strict_struct_names() -> set[str]:
    names: set[str] = set()
    pending: list[type[Any]] = [msgspec.Struct]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            pending.append(sub)
            config = getattr(sub, "__struct_config__", None)
            if config is not None and config.forbid_unknown_fields:
                names.add(sub.__name__)
    return names


def harden(document: OpenAPI) -> OpenAPI:
    strict = _strict_struct_names()
    schemas = document.components.schemas if document.components and document.components.schemas else {}
    for name, schema in schemas.items():
        if name in strict and schema.properties is not None:
            schema.additional_properties = False
    for path_item in (document.paths or {}).values():
        for method in _METHODS:
            operation: Operation | None = getattr(path_item, method, None)
            if operation is not None and operation.request_body is not None:
                _add_body_errors(operation)
    return document


def _add_body_errors(operation: Operation) -> None:
    responses = operation.responses if operation.responses is not None else {}
    template = next(
        (r for code, r in responses.items() if code.startswith("4") and isinstance(r, OpenAPIResponse)),
        None,
    )
    if template is None:
        return
    for status, description in _BODY_STATUSES.items():
        if status not in responses:
            response = copy.copy(template)
            response.description = description
            responses[status] = response
    operation.responses = responses


class _HardenedOpenAPIPlugin(OpenAPIPlugin):
    __slots__ = ()

    def _build_openapi(self) -> OpenAPI:
        return harden(super()._build_openapi())


def install(app: Litestar) -> None:
    """Post-process the document whenever Litestar (re)builds it. Litestar always makes its own
    OpenAPI plugin (a slotted class), so the instance is switched to a subclass that adds `harden`."""
    plugin = app.plugins.get(OpenAPIPlugin)
    plugin.__class__ = _HardenedOpenAPIPlugin
