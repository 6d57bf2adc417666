"""The action routes' OpenAPI: a named schema per action input, bodies named unions discriminated on `action`."""

from __future__ import annotations

from app.actions import action_registry
from app.actions.schemas import type_prefix
from tests.conftest import ApiClient


async def _schema(client: ApiClient) -> dict:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    return response.json()


def _named(schema: dict, body: dict, name: str) -> dict:
    """The named component a body refers to (generated clients then name the union type too)."""
    assert body == {"$ref": f"#/components/schemas/{name}"}
    return schema["components"]["schemas"][name]


def _operation(schema: dict, operation_id: str) -> dict:
    for methods in schema["paths"].values():
        for operation in methods.values():
            if operation["operationId"] == operation_id:
                return operation
    raise AssertionError(operation_id)


async def test_execute_bodies_are_a_union_discriminated_on_action(test_client: ApiClient) -> None:
    schema = await _schema(test_client)
    components = schema["components"]["schemas"]
    for operation_id, suffix, union in (
        ("ExecuteObjectAction", "Request", "ActionRequest"),
        ("ExecuteBulkAction", "BulkRequest", "BulkActionRequest"),
    ):
        content = _operation(schema, operation_id)["requestBody"]["content"]["application/json"]
        body = _named(schema, content["schema"], union)
        actions = action_registry.all_actions()
        assert body["discriminator"]["propertyName"] == "action"
        mapping = body["discriminator"]["mapping"]
        assert set(mapping) == {action.key() for action in actions}
        assert len(body["oneOf"]) == len(actions)
        for action in actions:
            name = f"{type_prefix(action)}{suffix}"
            assert mapping[action.key()] == f"#/components/schemas/{name}"
            request = components[name]
            assert request["properties"]["action"]["const"] == action.key()
            assert "action" in request["required"]
            if action.InputSchema is not None:
                input_name = action.InputSchema.__name__
                assert request["properties"]["input"] == {"$ref": f"#/components/schemas/{input_name}"}
                assert "input" in request["required"]
                assert components[input_name]["type"] == "object"


async def test_execute_responses_are_one_named_type_per_object_type(test_client: ApiClient) -> None:
    schema = await _schema(test_client)
    components = schema["components"]["schemas"]
    types = {"Post": "PostRead", "Campaign": "CampaignRead", "Todo": "TodoRead", "Creator": "CreatorRead"}
    for operation_id, suffix in (
        ("ExecuteObjectAction", "ActionResult"),
        ("ExecuteBulkAction", "BulkActionResult"),
    ):
        content = _operation(schema, operation_id)["responses"]["200"]["content"]["application/json"]
        union = _named(schema, content["schema"], suffix)
        refs = {ref["$ref"].rsplit("/", 1)[-1] for ref in union["oneOf"]}
        assert refs == {f"{prefix}{suffix}" for prefix in types}
        assert union["discriminator"]["propertyName"] == "object_type"
        assert union["discriminator"]["mapping"] == {
            prefix.lower(): f"#/components/schemas/{prefix}{suffix}" for prefix in types
        }
        for prefix in types:
            properties = components[f"{prefix}{suffix}"]["properties"]
            assert properties["object_type"]["const"] == prefix.lower()
    for prefix, read in types.items():
        assert components[f"{prefix}ActionResult"]["properties"]["object"] == {
            "$ref": f"#/components/schemas/{read}"
        }
    duplicate = components["CampaignActionResult"]["properties"]["result"]
    assert {"$ref": "#/components/schemas/CampaignRead"} in duplicate["oneOf"]
    idempotency = [
        p for p in _operation(schema, "ExecuteObjectAction")["parameters"] if p["name"] == "Idempotency-Key"
    ]
    assert idempotency[0]["in"] == "header"
