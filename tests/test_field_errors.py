"""One 400 names every failing field, nested ones included, by its full path."""

from __future__ import annotations

from typing import Annotated

import msgspec

from app.lib.field_errors import struct_field_errors
from tests.actions_helpers import actions_url, body, booked_campaign, bulk_url
from tests.conftest import ApiClient
from tests.factories import PostFactory


class _Handle(msgspec.Struct):
    platform: Annotated[str, msgspec.Meta(max_length=10)]
    followers: Annotated[int, msgspec.Meta(ge=0)] = 0


class _Profile(msgspec.Struct):
    name: str
    main: _Handle | None = None
    handles: Annotated[list[_Handle], msgspec.Meta(max_length=2)] = []


def _keys(errors: list[dict]) -> list[str]:
    return sorted(error["key"] for error in errors)


def test_nested_structs_and_lists_of_them_report_each_field_by_path() -> None:
    raw = {
        "name": 7,
        "main": {"platform": "x" * 11, "followers": -1, "extra": True},
        "handles": [{"platform": "ok"}, {"followers": "many"}, {"platform": "ok"}],
    }
    errors = struct_field_errors(_Profile, raw)
    assert _keys(errors) == [
        "handles",
        "handles[1].followers",
        "handles[1].platform",
        "main.extra",
        "main.followers",
        "main.platform",
        "name",
    ]
    by_key = {error["key"]: error["message"] for error in errors}
    assert by_key["handles[1].platform"] == "Is required"
    assert by_key["handles"] == "Expected an array of length <= 2"
    assert "remove it" in by_key["main.extra"]


def test_a_valid_object_has_no_errors() -> None:
    assert struct_field_errors(_Profile, {"name": "a", "handles": [{"platform": "tiktok"}]}) == []


async def test_an_action_input_reports_every_bad_field(authenticated_client: ApiClient, team) -> None:
    _, booking = await booked_campaign(team.id)
    post = await PostFactory.for_booking(booking, status="approved")
    response = await authenticated_client.post(
        actions_url(team.id, "post", post.id, "publish"),
        json=body("post", "publish", post.version, {"published_url": 5, "views": -1, "colour": "red"}),
    )
    assert response.status_code == 400, response.text
    assert _keys(response.json()["errors"]) == ["input.colour", "input.published_url", "input.views"]


async def test_a_bulk_body_reports_every_bad_object_by_index(authenticated_client: ApiClient, team) -> None:
    _, booking = await booked_campaign(team.id)
    post = await PostFactory.for_booking(booking, status="submitted")
    response = await authenticated_client.post(
        bulk_url(team.id, "post", "approve"),
        json={
            "action": "post.approve",
            "objects": [{"id": "not-a-uuid", "version": "one"}, {"id": str(post.id)}],
            "mode": "sometimes",
        },
    )
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["code"] == "validation_failed"
    assert _keys(problem["errors"]) == ["mode", "objects[0].id", "objects[0].version", "objects[1].version"]
