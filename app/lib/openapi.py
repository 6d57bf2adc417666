"""The OpenAPI document as the frontend's contract, finished in one place for every route.

Litestar generates the document from the routes; `finish_document` then applies what must hold
for every operation, so a new route gets it without repeating it in its controller:

- what the server enforces and Litestar's generator leaves out: request and response bodies
  reject unknown fields (`forbid_unknown_fields` -> `additionalProperties: false`), and every
  body may be refused by the decoding boundary (400, 413, 415);
- a human summary (`List team members`) where the route gave none but its handler's name;
- every tag declared at the top with a description;
- the documented errors any route may answer (401 when it needs a token, 400 when it reads
  input, 404 when its path names something, 413 when it takes a body), as problem details;
- an example on every JSON request body, built from the body's schema and its field examples;
- every inline enum lifted into a named schema (`HealthReadStatus`), so clients name it too;
- the bearer scheme as OpenAPI defines it (an `http` scheme has no `name`).

`ContractOpenAPIConfig` hooks this into Litestar (the one post-processing step), so
`/schema/openapi.json`, Swagger UI and `python -m app.cli openapi` (what `make codegen` runs)
all serve the same finished document.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from decimal import Decimal
from typing import Any

import msgspec
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import OpenAPI, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.plugins import OpenAPISchemaPlugin
from litestar.typing import FieldDefinition

PROBLEM_JSON = "application/problem+json"
PROBLEM_REF = {"$ref": "#/components/schemas/ProblemDetails"}
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}

TAG_DESCRIPTIONS = {
    "System": "Liveness, readiness, the application's version and the job UI's browser session.",
    "Auth": "Registration, login, token refresh, logout, password reset and email verification.",
    "Users": "The signed-in user's own account.",
    "Teams": "Teams (the tenants), their members and invitations.",
    "Brands": "The brands a team runs campaigns for.",
    "Events": "The append-only activity feed of a team and the history of each object.",
    "Roster": "The team's roster of creators, their handles and follower counts.",
    "Campaigns": "Campaigns, the creators booked on them and their guests.",
    "Posts": "The posts of a campaign and their review workflow.",
    "To-dos": "The to-dos of a campaign.",
    "Dashboard": "Aggregates over a team's campaigns, posts, to-dos and money.",
    "Development": "Development helpers (not served in production).",
}
"""Descriptions of the tags; a tag missing here still gets a generic one (see `_tags`)."""

DEFAULT_ERRORS = {
    400: "Malformed JSON, unknown fields or invalid values; `errors` names each field.",
    401: "Missing, invalid or expired credentials.",
    404: "Not found, or not visible to you.",
    413: "The request body is too large.",
}

BODY_ERRORS = {
    400: "Malformed JSON (bad encoding, too deep), unknown fields or invalid values; `errors` names each field.",
    413: "The request body is too large.",
    415: "The body is not `application/json`.",
}
"""What the decoding boundary (`app.lib.boundary`) may answer to any request with a body."""

MONEY_OUT_PATTERN = r"^-?\d{1,12}\.\d{2}$"
MONEY_IN_PATTERN = r"^\d{1,12}(\.\d{1,2})?$"
EXAMPLE_UUID = "0190b5e2-7c1a-7d3e-9f10-2a3b4c5d6e7f"
PATTERN_CANDIDATES = (
    "example",
    "EUR",
    "ada@example.com",
    "1250.00",
    "2026-03-01",
    "example-slug",
    "https://example.com/",
    "#3366ff",
    "+4915112345678",
    "ABC123",
    "123",
)
"""Tried in order for a string field with a `pattern` and no example of its own."""


class MoneySchemaPlugin(OpenAPISchemaPlugin):
    """`Decimal` is money here: a string with its pattern, never a float.

    A body field typed `Money` (it carries its own description and example) takes what the API
    accepts, at most two decimals; a response's plain `Decimal` is always written with two.
    """

    @staticmethod
    def is_plugin_supported_type(value: Any) -> bool:
        return value is Decimal

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        kwarg = field_definition.kwarg_definition
        is_input = kwarg is not None and getattr(kwarg, "description", None) is not None
        if is_input:
            return Schema(type=OpenAPIType.STRING, pattern=MONEY_IN_PATTERN)
        return Schema(
            type=OpenAPIType.STRING,
            pattern=MONEY_OUT_PATTERN,
            description='An exact amount with two decimals (e.g. `"1250.00"`).',
            examples=["1250.00"],
        )


class ContractOpenAPI(OpenAPI):
    """Litestar's document, finished by `finish_document` when it is rendered."""

    def to_schema(self) -> dict[str, Any]:
        return finish_document(super().to_schema())


class ContractOpenAPIConfig(OpenAPIConfig):
    def to_openapi_schema(self) -> OpenAPI:
        base = super().to_openapi_schema()
        return ContractOpenAPI(
            **{field.name: getattr(base, field.name) for field in dataclasses.fields(base)}
        )


def finish_document(document: dict[str, Any]) -> dict[str, Any]:
    """The contract's rules applied to a generated document (returns a new one)."""
    document = copy.deepcopy(document)
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    _forbid_unknown_fields(schemas)
    _name_inline_enums(schemas)
    for scheme in document["components"].get("securitySchemes", {}).values():
        if scheme.get("type") == "http":
            scheme.pop("name", None)
            scheme["scheme"] = str(scheme.get("scheme", "bearer")).lower()
    for path, operation in _operations(document):
        _summarise(operation)
        _document_body_errors(operation)
        _document_errors(path, operation, secured_by_default=bool(document.get("security")))
        _add_body_example(operation, schemas)
    document["tags"] = _tags(document)
    document["components"]["schemas"] = dict(sorted(schemas.items()))
    return document


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


def _forbid_unknown_fields(schemas: dict[str, Any]) -> None:
    """A Struct with `forbid_unknown_fields` refuses (in) and never sends (out) other fields."""
    for name in _strict_struct_names() & schemas.keys():
        if "properties" in schemas[name]:
            schemas[name]["additionalProperties"] = False


def _document_body_errors(operation: dict[str, Any]) -> None:
    """The decoding boundary's answers, shaped like the route's own first documented 4xx."""
    responses: dict[str, Any] = operation.get("responses", {})
    if "requestBody" not in operation:
        return
    template = next((r for code, r in responses.items() if code.startswith("4")), None)
    if template is None:
        return
    for status, description in BODY_ERRORS.items():
        responses.setdefault(str(status), {**copy.deepcopy(template), "description": description})


def _operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (path, operation)
        for path, item in document.get("paths", {}).items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def _words(pascal: str) -> str:
    words = re.findall(r"[A-Z][a-z0-9]*|[a-z0-9]+", pascal)
    return " ".join([words[0], *(word.lower() for word in words[1:])]) if words else pascal


def _summarise(operation: dict[str, Any]) -> None:
    """Litestar's default summary is the handler's PascalCase name; say the operation in words."""
    summary = operation.get("summary")
    if (summary is None or " " not in summary) and (operation_id := operation.get("operationId")):
        operation["summary"] = _words(operation_id)


def _problem(status: int) -> dict[str, Any]:
    return {"description": DEFAULT_ERRORS[status], "content": {PROBLEM_JSON: {"schema": dict(PROBLEM_REF)}}}


def _document_errors(path: str, operation: dict[str, Any], *, secured_by_default: bool) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    security = operation.get("security")
    secured = secured_by_default if security is None else any(requirement for requirement in security)
    parameters = operation.get("parameters", [])
    needed: list[int] = []
    if parameters or "requestBody" in operation:
        needed.append(400)
    if secured:
        needed.append(401)
    if "{" in path:
        needed.append(404)
    if "requestBody" in operation:
        needed.append(413)
    for status in needed:
        responses.setdefault(str(status), _problem(status))
    operation["responses"] = dict(sorted(responses.items()))


def _tags(document: dict[str, Any]) -> list[dict[str, str]]:
    declared = {tag["name"]: tag for tag in document.get("tags") or []}
    names: list[str] = []
    for _, operation in _operations(document):
        for name in operation.get("tags", []):
            if name not in names:
                names.append(name)
    return [
        {
            "name": name,
            "description": declared.get(name, {}).get("description")
            or TAG_DESCRIPTIONS.get(name)
            or f"Operations on {name.lower()}.",
        }
        for name in names
    ]


def _pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[_\W]+", name) if part)


def _name_inline_enums(schemas: dict[str, Any]) -> None:
    """`status: Literal["ok", "degraded"]` becomes `$ref: HealthReadStatus`, a named enum."""
    for schema_name in list(schemas):
        for property_name, prop in (schemas[schema_name].get("properties") or {}).items():
            branches = prop.get("oneOf") or prop.get("anyOf") or [prop]
            for index, branch in enumerate(branches):
                if "enum" not in branch or "$ref" in branch or len(branch["enum"]) < 2:
                    continue
                enum_name = f"{schema_name}{_pascal(property_name)}"
                schemas.setdefault(enum_name, {**branch, "title": enum_name})
                reference = {"$ref": f"#/components/schemas/{enum_name}"}
                if branches is prop.get("oneOf") or branches is prop.get("anyOf"):
                    branches[index] = reference
                else:
                    description = prop.get("description")
                    prop.clear()
                    prop.update(reference)
                    if description:
                        prop["description"] = description


def _add_body_example(operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    for media in operation.get("requestBody", {}).get("content", {}).values():
        if "example" in media or "examples" in media or "schema" not in media:
            continue
        media["example"] = example_for(media["schema"], schemas)


def example_for(schema: dict[str, Any], schemas: dict[str, Any], depth: int = 0) -> Any:
    """A value that satisfies `schema`: its own example or default where it has one."""
    if depth > 8:
        return None
    if "$ref" in schema:
        return example_for(schemas.get(schema["$ref"].rsplit("/", 1)[-1], {}), schemas, depth + 1)
    if schema.get("examples"):
        return schema["examples"][0]
    if "example" in schema:
        return schema["example"]
    if "default" in schema:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("oneOf", "anyOf"):
        if key in schema:
            branches = [branch for branch in schema[key] if branch.get("type") != "null"] or schema[key]
            return example_for(branches[0], schemas, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        required = schema.get("required", list(properties))
        return {
            name: example_for(properties[name], schemas, depth + 1) for name in properties if name in required
        }
    if kind == "array":
        item = example_for(schema.get("items", {}), schemas, depth + 1)
        return [item] * max(1, int(schema.get("minItems", 1)))
    if kind == "integer":
        return int(
            schema.get(
                "minimum", schema.get("exclusiveMinimum", 0) + 1 if "exclusiveMinimum" in schema else 1
            )
        )
    if kind == "number":
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return _string_example(schema)


def _string_example(schema: dict[str, Any]) -> str:
    formats = {
        "uuid": EXAMPLE_UUID,
        "date": "2026-03-01",
        "date-time": "2026-03-01T09:00:00Z",
        "email": "ada@example.com",
        "uri": "https://example.com/",
    }
    if schema.get("format") in formats:
        return formats[schema["format"]]
    text = "example"
    if pattern := schema.get("pattern"):
        matching = (candidate for candidate in PATTERN_CANDIDATES if _matches(pattern, candidate))
        text = next(matching, text)
    minimum, maximum = int(schema.get("minLength", 0)), schema.get("maxLength")
    if len(text) < minimum:
        text = text + "x" * (minimum - len(text))
    if maximum is not None:
        text = text[: int(maximum)]
    return text


def _matches(pattern: str, candidate: str) -> bool:
    try:
        return re.search(pattern, candidate) is not None
    except re.error:
        return False
