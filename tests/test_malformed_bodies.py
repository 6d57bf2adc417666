"""Every write operation of the OpenAPI, fed malformed bodies generated from its own schema:
each answer is a 4xx problem with a `code`, and nothing is written.

The cases come from the schema (every operation with a request body, every property by its
type), not from a hand-kept list, so a new route is swept the day it appears.
"""

from __future__ import annotations

import json
from typing import Any

from app.metadata import metadata
from tests.conftest import ApiClient
from tests.world import World, build_world

SESSION_ENDING = {"Logout", "ChangePassword"}
JSON = "application/json"


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _types(schema: dict[str, Any]) -> set[str]:
    options = schema.get("oneOf") or schema.get("anyOf") or [schema]
    return {str(o.get("type")) for o in options} | {str(o.get("format")) for o in options if "format" in o}


def _wrong_value(schema: dict[str, Any]) -> Any:
    types = _types(schema)
    if "string" in types:
        return {"not": "a string"}
    if "integer" in types or "number" in types:
        return "not a number"
    if "boolean" in types:
        return "not a boolean"
    return 12345


def malformed_cases(body_schema: dict[str, Any]) -> list[tuple[str, bytes, str | None]]:
    """(case name, raw body, content type) for one operation's request body schema."""
    properties: dict[str, Any] = body_schema.get("properties", {})
    first = next(iter(properties), "x")
    deep = b"[" * 5000 + b"]" * 5000
    cases: list[tuple[str, bytes, str | None]] = [
        ("invalid-utf8", b'{"' + first.encode() + b'": "\xff\xfe"}', JSON),
        ("deep-body", deep, JSON),
        ("deep-unknown-field", b'{"zz_unknown": ' + deep + b"}", JSON),
        ("text-plain", b"{}", "text/plain"),
        ("no-content-type", b"{}", None),
        ("not-an-object", b"[1, 2]", JSON),
        ("truncated", b'{"' + first.encode() + b'": ', JSON),
        ("unknown-field", b'{"zz_unknown": 1}', JSON),
    ]
    for name, prop in properties.items():
        types = _types(prop)
        cases.append((f"wrong-type:{name}", _json({name: _wrong_value(prop)}), JSON))
        if "string" in types:
            cases.append((f"nul:{name}", _json({name: "a\u0000b"}), JSON))
        if "date-time" in types:
            cases.append((f"naive:{name}", _json({name: "2025-01-01T00:00:00"}), JSON))
    return cases


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


async def _row_counts(owner_connection) -> dict[str, int]:
    names = [table.name for table in metadata.sorted_tables] + ["saq_jobs"]
    query = " UNION ALL ".join(f"SELECT '{n}', count(*) FROM \"{n}\"" for n in names)
    return {row[0]: row[1] for row in await owner_connection.fetch(query)}


async def test_every_write_operation_refuses_malformed_bodies(
    client_for, test_client: ApiClient, owner_connection
) -> None:
    world: World = await build_world(client_for)
    spec = (await test_client.get("/schema/openapi.json")).json()
    before = await _row_counts(owner_connection)
    swept: list[str] = []
    failures: list[str] = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody")
            if not body:
                continue
            schema = _resolve(body["content"][JSON]["schema"], spec)
            client = world.bystander if operation["operationId"] in SESSION_ENDING else world.owner
            swept.append(operation["operationId"])
            for name, raw, content_type in malformed_cases(schema):
                headers = {"content-type": content_type} if content_type else {}
                response = await client.request(method.upper(), world.url(path), content=raw, headers=headers)
                problem = response.headers.get("content-type", "").startswith("application/problem+json")
                if response.status_code not in {400, 415} or not problem or "code" not in response.json():
                    failures.append(
                        f"{operation['operationId']} {name}: {response.status_code} {response.text[:200]}"
                    )
    assert not failures, "\n".join(failures)
    assert len(swept) >= 25, swept
    assert await _row_counts(owner_connection) == before, "a malformed body wrote something"


def test_the_cases_come_from_the_schema() -> None:
    schema = {"properties": {"name": {"type": "string"}, "at": {"type": "string", "format": "date-time"}}}
    names = {name for name, _, _ in malformed_cases(schema)}
    assert {"nul:name", "nul:at", "naive:at", "wrong-type:name", "wrong-type:at"} <= names
