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
    "Register",
    "Login",
    "RefreshToken",
    "RequestPasswordReset",
    "ResetPassword",
    "VerifyEmail",
    "GetDevOutbox",
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
            ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
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
