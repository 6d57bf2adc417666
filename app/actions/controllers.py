"""Action routes under `/api/teams/{team_id}`: list an object's actions, run one, run one on many.

Built from the registry at start-up (`build_action_routes`), because the request and response
types are the registry's. Any member of the team reaches these routes; each action then
declares the role it needs (a guest sees and runs only the actions open to guests).
"""

# No `from __future__ import annotations` here: the handlers live inside `build_action_routes`,
# and Litestar must see their annotations as objects.

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions import idempotency
from app.actions.base import ActionContext
from app.actions.openapi import (
    ActionBodySchemaPlugin,
    ActionRequestBody,
    ActionResultBody,
    BulkActionRequestBody,
    BulkActionResultBody,
    action_body_decoders,
)
from app.actions.registry import ActionRegistry
from app.actions.schemas import ActionList, ActionSchemas, build_action_schemas
from app.actions.services import ActionService
from app.lib.deps import TeamAccess, team_dependencies
from app.lib.errors import TEAM_ROUTE_ERRORS, problem_responses
from app.lib.roles import TeamRole, requires_role

IdempotencyKeyHeader = Annotated[
    str | None,
    HeaderParameter(
        name=idempotency.HEADER,
        description=(
            "Makes a retry safe: the same key (per user, kept 24 h) returns the first response "
            "instead of running the action again; the same key with another body is 422."
        ),
        max_length=idempotency.MAX_KEY_LENGTH,
    ),
]

ACTION_ROUTE_ERRORS = {**TEAM_ROUTE_ERRORS, **problem_responses(422)}


async def _respond_idempotently(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    access: TeamAccess,
    key: str | None,
    body: Any,
    run: Any,
) -> Response[Any]:
    """Run `run()` once per key: the first response is stored and replayed to retries."""
    if key is None:
        return Response(msgspec.json.encode(await run()), media_type=MediaType.JSON)
    key = idempotency.checked_key(key)
    claim = {"team_id": access.team_id, "user_id": access.user_id, "key": key}
    fingerprint = idempotency.request_hash(request.method, request.url.path, body)
    stored = await idempotency.claim(session, fingerprint=fingerprint, **claim)
    if stored is not None:
        return Response(
            stored.body,
            status_code=stored.status_code,
            media_type=MediaType.JSON,
            headers={idempotency.REPLAYED_HEADER: "true"},
        )
    encoded = msgspec.json.encode(await run())
    await idempotency.store(session, status_code=200, body=encoded, **claim)
    return Response(encoded, media_type=MediaType.JSON)


def build_action_routes(registry: ActionRegistry) -> tuple[type[Controller], ActionBodySchemaPlugin]:
    """The routes and the OpenAPI plugin documenting their bodies, for the registry as it is now."""
    schemas: ActionSchemas = build_action_schemas(registry)

    def service_for(session: AsyncSession, access: TeamAccess) -> ActionService:
        return ActionService(ActionContext(session=session, access=access), registry, schemas)

    class ActionController(Controller):
        path = "/api/teams/{team_id:uuid}"
        tags = ["Actions"]
        dependencies = {**team_dependencies}
        type_decoders = action_body_decoders

        @get(
            "/actions/{object_type:str}/{object_id:uuid}",
            operation_id="ListObjectActions",
            responses=TEAM_ROUTE_ERRORS,
            opt=requires_role(TeamRole.GUEST),
        )
        async def list_object_actions(
            self,
            object_type: FromPath[str],
            object_id: FromPath[UUID],
            team_access: NamedDependency[TeamAccess],
            db_session: NamedDependency[AsyncSession],
        ) -> ActionList:
            """Every action of the object your role allows, with its input's JSON Schema and
            whether it is available now (and if not, why: "Only submitted posts can be approved.")."""
            return await service_for(db_session, team_access).list_actions(object_type, object_id)

        @post(
            "/actions/{object_type:str}/{object_id:uuid}/{action_name:str}",
            operation_id="ExecuteObjectAction",
            responses=ACTION_ROUTE_ERRORS,
            status_code=200,
            opt=requires_role(TeamRole.GUEST),
        )
        async def execute_object_action(
            self,
            request: Request[Any, Any, Any],
            object_type: FromPath[str],
            object_id: FromPath[UUID],
            action_name: FromPath[str],
            data: JSONBody[ActionRequestBody],
            team_access: NamedDependency[TeamAccess],
            db_session: NamedDependency[AsyncSession],
            idempotency_key: IdempotencyKeyHeader = None,
        ) -> Response[ActionResultBody]:
            """Run one action on the object: `{"action": "post.approve", "input": {...}, "version": N}`.
            400 names every bad field of `input`; 409 when `version` is stale (`current_version`) or
            the action is unavailable (the reason); returns the object as its `GetX` route would,
            and the action's `result` (the new campaign of `campaign.duplicate`)."""
            service = service_for(db_session, team_access)

            async def run() -> Any:
                return await service.execute(object_type, object_id, action_name, data.raw)

            return await _respond_idempotently(
                request, db_session, team_access, idempotency_key, data.raw, run
            )

        @post(
            "/bulk-actions/{object_type:str}/{action_name:str}",
            operation_id="ExecuteBulkAction",
            responses=ACTION_ROUTE_ERRORS,
            status_code=200,
            opt=requires_role(TeamRole.GUEST),
        )
        async def execute_bulk_action(
            self,
            request: Request[Any, Any, Any],
            object_type: FromPath[str],
            action_name: FromPath[str],
            data: JSONBody[BulkActionRequestBody],
            team_access: NamedDependency[TeamAccess],
            db_session: NamedDependency[AsyncSession],
            idempotency_key: IdempotencyKeyHeader = None,
        ) -> Response[BulkActionResultBody]:
            """Run one action on up to 100 objects of one type:
            `{"action": "post.approve", "objects": [{"id": ..., "version": N}], "input": {...}}`.
            Mode `all` (default): all or nothing, the first failure is the response. Mode `each`:
            the others are applied and every object gets its result or its problem details."""
            service = service_for(db_session, team_access)

            async def run() -> Any:
                return await service.execute_bulk(object_type, action_name, data.raw)

            return await _respond_idempotently(
                request, db_session, team_access, idempotency_key, data.raw, run
            )

    plugin = ActionBodySchemaPlugin(schemas)
    return ActionController, plugin
