"""The OpenAPI schema is the frontend's contract: names, tags and error shapes are checked here."""

from __future__ import annotations

import re

from tests.conftest import ApiClient

EXPECTED_OPERATIONS = {
    "Health",
    "Register",
    "Login",
    "RefreshToken",
    "Logout",
    "GetCurrentUser",
    "UpdateCurrentUser",
    "ChangePassword",
    "ListTeams",
    "CreateTeam",
    "GetTeam",
    "UpdateTeam",
    "DeleteTeam",
    "ListTeamMembers",
    "AddTeamMember",
    "UpdateTeamMember",
    "RemoveTeamMember",
    "CreateTeamInvitation",
    "ListTeamInvitations",
    "RevokeTeamInvitation",
    "AcceptTeamInvitation",
    "RequestPasswordReset",
    "ResetPassword",
    "VerifyEmail",
    "ResendVerification",
    "ListBrands",
    "CreateBrand",
    "GetBrand",
    "UpdateBrand",
    "DeleteBrand",
    "ListTeamEvents",
    "ListObjectEvents",
    *(f"{verb}Creator" for verb in ("Create", "Get", "Update", "Delete")),
    "ListCreators",
    *(f"{verb}Campaign" for verb in ("Create", "Get", "Update", "Delete")),
    "ListCampaigns",
    *(f"{verb}CampaignCreator" for verb in ("Create", "Get", "Update", "Delete")),
    "ListCampaignCreators",
    "ListCampaignGuests",
    "GrantCampaignGuest",
    "RevokeCampaignGuest",
    *(f"{verb}Post" for verb in ("Create", "Get", "Update", "Delete")),
    "ListPosts",
    *(f"{verb}Todo" for verb in ("Create", "Get", "Update", "Delete")),
    "ListTodos",
    "GetThread",
    "MarkThreadRead",
    "ListThreadMessages",
    "PostThreadMessage",
    "UpdateThreadMessage",
    "DeleteThreadMessage",
    "ListNotifications",
    "GetNotificationSummary",
    "MarkNotificationRead",
    "MarkAllNotificationsRead",
    "GetNotificationPreferences",
    "UpdateNotificationPreferences",
    "GetTeamDashboard",
    "ListObjectActions",
    "ExecuteObjectAction",
    "ExecuteBulkAction",
    "CreateUpload",
    "CompleteUpload",
    "ListMedia",
    "GetMedia",
    "DeleteMedia",
    "GetPostMedia",
    "ReorderPostMedia",
    "GetTeamStorageUsage",
    "UploadMediaObject",
    "DownloadMediaObject",
}


async def _schema(client: ApiClient) -> dict:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    return response.json()


async def test_every_operation_is_named_tagged_and_documents_problem_errors(test_client: ApiClient) -> None:
    schema = await _schema(test_client)
    operations = {}
    for path, methods in schema["paths"].items():
        assert "{id}" not in path, path
        for operation in methods.values():
            operation_id = operation["operationId"]
            assert re.fullmatch(r"(?:[A-Z][a-z0-9]+)+", operation_id), operation_id
            assert operation["tags"], operation_id
            operations[operation_id] = operation
            for status, response in operation["responses"].items():
                if status.startswith("4"):
                    assert "application/problem+json" in response.get("content", {}), (operation_id, status)
                    content = response["content"]["application/problem+json"]["schema"]
                    assert content == {"$ref": "#/components/schemas/ProblemDetails"}, (operation_id, status)
    assert set(operations) >= EXPECTED_OPERATIONS


OFFSET_PAGE = {"items", "total", "limit", "offset"}
CURSOR_PAGE = {"items", "limit", "has_more"}
CURSOR_LISTS = {"ListThreadMessages", "ListNotifications"}
"""Lists that grow while they are read page by page: cut by id (`before`/`after`), not offset."""


async def test_list_operations_return_named_page_schemas(test_client: ApiClient) -> None:
    schema = await _schema(test_client)
    for methods in schema["paths"].values():
        for operation in methods.values():
            if operation["operationId"].startswith("List"):
                ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
                name = ref.rsplit("/", 1)[-1]
                assert name.endswith("List"), name
                # Feeds add a capped-total flag and a keyset cursor (app/events/feed.py); lists
                # that grow while read page by page are cut by id (CURSOR_PAGE).
                expected = CURSOR_PAGE if operation["operationId"] in CURSOR_LISTS else OFFSET_PAGE
                properties = set(schema["components"]["schemas"][name]["properties"])
                assert properties - {"total_exact", "next_cursor"} == expected, name


async def test_swagger_ui_is_served_with_local_assets(test_client: ApiClient) -> None:
    page = await test_client.get("/schema/swagger")
    assert page.status_code == 200
    assert "cdn." not in page.text
    for asset in re.findall(r'(?:src|href)="(/schema/assets/[^"]+)"', page.text):
        assert (await test_client.get(asset)).status_code == 200, asset


PUBLIC_OPERATIONS = {
    "Health",
    "Ready",
    "Register",
    "Login",
    "RefreshToken",
    "RequestPasswordReset",
    "ResetPassword",
    "VerifyEmail",
    "GetDevOutbox",
    # Sign in with Google and the second sign-in step: the flow token and challenge are the credentials.
    "StartGoogleSignIn",
    "CompleteGoogleSignIn",
    "LoginSecondFactor",
    # Local storage's stand-in for a bucket: the signed URL is the credential, as on S3.
    "UploadMediaObject",
    "DownloadMediaObject",
}


async def test_only_public_operations_waive_the_bearer_token(test_client: ApiClient) -> None:
    schema = await _schema(test_client)
    assert schema["security"] == [{"BearerToken": []}]
    public = {
        operation["operationId"]
        for methods in schema["paths"].values()
        for operation in methods.values()
        if operation.get("security") == [{}]
    }
    assert public == PUBLIC_OPERATIONS


async def test_request_bodies_forbid_additional_properties(test_client: ApiClient) -> None:
    schema = (await test_client.get("/schema/openapi.json")).json()
    components = schema["components"]["schemas"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody")
            if not body:
                continue
            content = body["content"].get("application/json")
            if content is None:  # a raw upload (local media), not JSON
                continue
            for ref in _body_refs(content["schema"], components):
                assert components[ref]["additionalProperties"] is False, (method, path, ref)
            for status in ("400", "413", "415", "503"):
                assert status in operation["responses"], (method, path, status)


async def test_pages_declare_their_maxima_and_dates_their_formats(test_client: ApiClient) -> None:
    schema = (await test_client.get("/schema/openapi.json")).json()
    for path, item in schema["paths"].items():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter["name"] in {"limit", "offset"}:
                    assert "maximum" in parameter["schema"], (path, parameter["name"])
                if parameter["name"].endswith(("_after", "_before")) and "scheduled" in parameter["name"]:
                    formats = {
                        s.get("format") for s in parameter["schema"].get("oneOf", [parameter["schema"]])
                    }
                    assert "date-time" in formats, (path, parameter["name"])


async def test_every_problem_names_a_code(test_client: ApiClient) -> None:
    schema = (await test_client.get("/schema/openapi.json")).json()
    problem = schema["components"]["schemas"]["ProblemDetails"]
    assert "code" in problem["required"]


async def test_socket_frames_are_documented_in_components(authenticated_client: ApiClient) -> None:
    schemas = (await _schema(authenticated_client))["components"]["schemas"]
    for frame in (
        "AuthFrame",
        "SubscribeFrame",
        "ReadyFrame",
        "ErrorFrame",
        "EventFrame",
        "ThreadMessageFrame",
    ):
        assert schemas[frame]["properties"]["type"]["const"], frame
    assert schemas["NotificationFrame"]["properties"]["notification"] == {
        "$ref": "#/components/schemas/NotificationRead"
    }
    protocol = await authenticated_client.get("/api/realtime")
    assert protocol.status_code == 200, protocol.text
    assert protocol.json()["url"] == "/api/ws"
    assert [frame["type"] for frame in protocol.json()["client_examples"]] == ["auth", "subscribe", "ping"]


async def test_money_is_a_string_with_its_pattern(test_client: ApiClient) -> None:
    schemas = (await _schema(test_client))["components"]["schemas"]
    read, create = (
        schemas["CampaignRead"]["properties"]["budget"],
        schemas["CampaignCreate"]["properties"]["budget"],
    )
    assert read["type"] == "string"
    assert re.fullmatch(read["pattern"], "1250.00")
    assert not re.fullmatch(read["pattern"], "1250.0")
    assert re.fullmatch(create["pattern"], "1250")
    assert re.fullmatch(create["pattern"], "1250.5")
    assert schemas["CurrencyTotals"]["properties"]["remaining"]["pattern"] == read["pattern"]


async def test_dates_carry_their_formats(test_client: ApiClient) -> None:
    properties = (await _schema(test_client))["components"]["schemas"]["CampaignRead"]["properties"]
    assert {"type": "string", "format": "date"} in properties["start_date"]["oneOf"]
    assert properties["created_at"]["format"] == "date-time"


async def test_every_enum_is_a_named_schema(test_client: ApiClient) -> None:
    schema = await _schema(test_client)
    inline: list[str] = []

    def walk(node: object, path: str, top: bool) -> None:
        if isinstance(node, dict):
            if "enum" in node and not top:
                inline.append(path)
            for key, value in node.items():
                walk(value, f"{path}/{key}", top=False)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{path}/{index}", top=False)

    for name, component in schema["components"]["schemas"].items():
        walk(component, name, top=True)
    walk(schema["paths"], "paths", top=False)
    assert inline == []
    assert schema["components"]["schemas"]["HealthRead"]["properties"]["status"] == {
        "$ref": "#/components/schemas/HealthReadStatus"
    }


def _body_refs(schema: dict, components: dict) -> list[str]:
    """The named object schemas of a body: its `$ref`, or the members of the named union it
    refers to (the actions' `ActionRequest`: a discriminated `oneOf` of named schemas)."""
    if "$ref" not in schema:
        return []
    name = schema["$ref"].rsplit("/", 1)[-1]
    members = components[name].get("oneOf")
    if members is None:
        return [name]
    return [ref["$ref"].rsplit("/", 1)[-1] for ref in members if "$ref" in ref]


async def test_every_request_body_is_named_and_has_an_example(test_client: ApiClient) -> None:
    schema = await _schema(test_client)
    for methods in schema["paths"].values():
        for operation in methods.values():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                assert _body_refs(media["schema"], schema["components"]["schemas"]), operation["operationId"]
                assert "example" in media, operation["operationId"]
            assert " " in operation["summary"] or operation["summary"] == operation["operationId"]
            assert operation.get("description"), operation["operationId"]


async def test_every_tag_is_declared_with_a_description(test_client: ApiClient) -> None:
    schema = await _schema(test_client)
    declared = {tag["name"]: tag["description"] for tag in schema["tags"]}
    used = {
        tag
        for methods in schema["paths"].values()
        for operation in methods.values()
        for tag in operation["tags"]
    }
    assert set(declared) == used
    assert all(declared.values())
    assert "name" not in schema["components"]["securitySchemes"]["BearerToken"]


def test_the_committed_openapi_document_is_the_current_export() -> None:
    """What `make codegen` writes, byte for byte (the client test regenerates the TypeScript too)."""
    import json
    from pathlib import Path

    from app.cli import OPENAPI_EXPORT_ENV
    from app.config import get_config
    from app.main import create_app

    document = create_app(get_config(OPENAPI_EXPORT_ENV)).openapi_schema.to_schema()
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    committed = Path(__file__).resolve().parent.parent / "clients" / "typescript" / "openapi.json"
    assert text == committed.read_text(encoding="utf-8"), (
        "openapi.json is stale: run `make codegen` and commit"
    )


def test_a_new_route_gets_the_contract_rules_without_repeating_them() -> None:
    """What another controller adds (a tag, a body, a path id) is finished centrally."""
    from app.lib.openapi import finish_document

    document = {
        "security": [{"BearerToken": []}],
        "paths": {
            "/api/things/{thing_id}/actions": {
                "post": {
                    "tags": ["Things"],
                    "operationId": "ExecuteThingAction",
                    "summary": "ExecuteAction",
                    "parameters": [{"name": "thing_id", "in": "path"}],
                    "requestBody": {
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Run"}}}
                    },
                    "responses": {"200": {"description": "done"}},
                }
            }
        },
        "components": {
            "schemas": {
                "Run": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "pattern": "^[A-Z]{3}$"},
                        "mode": {"type": "string", "enum": ["fast", "slow"]},
                        "count": {"type": "integer", "minimum": 2},
                    },
                    "required": ["name", "mode", "count"],
                }
            },
            "securitySchemes": {"BearerToken": {"type": "http", "scheme": "Bearer", "name": "Authorization"}},
        },
    }
    finished = finish_document(document)
    operation = finished["paths"]["/api/things/{thing_id}/actions"]["post"]
    assert operation["summary"] == "Execute thing action"
    assert set(operation["responses"]) == {"200", "400", "401", "404", "413"}
    assert operation["requestBody"]["content"]["application/json"]["example"] == {
        "name": "EUR",
        "mode": "fast",
        "count": 2,
    }
    assert finished["tags"] == [{"name": "Things", "description": "Operations on things."}]
    assert finished["components"]["schemas"]["Run"]["properties"]["mode"] == {
        "$ref": "#/components/schemas/RunMode"
    }
    assert finished["components"]["securitySchemes"]["BearerToken"] == {"type": "http", "scheme": "bearer"}
