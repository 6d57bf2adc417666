"""Listing and running actions: the rules every action shares.

Order of checks for one object: the request body (400, every bad field named), the object
(404 when the caller cannot see it, so another team's object reveals nothing and nothing runs),
the role (403), the version (409 with `current_version`), the availability (409 with the
reason), then the action itself, in the request's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError

from app.actions.base import ActionContext, BaseAction, ObjectType
from app.actions.inputs import INPUT_KEY, bad_request, parse_input
from app.actions.registry import ActionRegistry
from app.actions.schemas import (
    ActionList,
    ActionRead,
    ActionSchemas,
    BulkEnvelope,
    BulkMode,
    ExecuteEnvelope,
    input_json_schema,
)
from app.lib.errors import (
    ConflictError,
    DomainError,
    PermissionDeniedError,
    ProblemDetails,
    ResourceNotFoundError,
    problem,
)
from app.lib.field_errors import field_error, friendly, struct_field_errors
from app.lib.versioning import ensure_current_version

Target = Any


def _readable(object_type: str) -> str:
    return object_type.replace("_", " ")


def _envelope_errors(raw: Any, envelope: type[msgspec.Struct]) -> tuple[Any, list[dict[str, Any]]]:
    """The envelope, or every failing field of it (`input` is checked by `parse_input`)."""
    if not isinstance(raw, dict):
        return None, [field_error("body", "Expected a JSON object")]
    try:
        return msgspec.convert(raw, envelope), []
    except msgspec.ValidationError as exc:
        errors = struct_field_errors(envelope, raw) or [friendly({"key": None, "message": str(exc)})]
        return None, errors


def _problem_of(exc: Exception) -> ProblemDetails | None:
    """The problem details an error would get as a response, for the per-object results."""
    if isinstance(exc, DomainError):
        body = problem(exc.status_code, exc.detail, extra=exc.extra).content
    elif isinstance(exc, StaleDataError):
        body = problem(
            409, "The record was changed by someone else; reload it and apply your change again."
        ).content
    elif isinstance(exc, DBAPIError) and (getattr(exc.orig, "sqlstate", "") or "").startswith("23"):
        body = problem(
            409, "The change conflicts with existing data (a duplicate or a reference in use)."
        ).content
    else:
        return None
    return msgspec.convert(body, ProblemDetails, strict=False)


class ActionService:
    def __init__(self, context: ActionContext, registry: ActionRegistry, schemas: ActionSchemas) -> None:
        self.context = context
        self.registry = registry
        self.schemas = schemas

    # --- lookup -----------------------------------------------------------------------------

    def _kind(self, object_type: str) -> ObjectType[Any]:
        kind = self.registry.object_type(object_type)
        if kind is None:
            known = ", ".join(sorted(self.registry.object_types()))
            raise ResourceNotFoundError(
                f"There are no actions for {object_type!r} objects (known types: {known})."
            )
        if not self.context.access.at_least(kind.read_role):
            raise PermissionDeniedError(
                f"{_readable(object_type).capitalize()}s need the {kind.read_role} role in this team; "
                f"you are {self.context.access.role}."
            )
        return kind

    def _action(self, object_type: str, name: str) -> BaseAction[Any]:
        action = self.registry.action(object_type, name)
        if action is None:
            known = ", ".join(a.name for a in self.registry.actions_of(object_type))
            raise ResourceNotFoundError(
                f"A {_readable(object_type)} has no action {name!r} (it has: {known})."
            )
        return action

    def _may_use(self, action: BaseAction[Any]) -> bool:
        return self.context.access.at_least(action.required_role)

    def _ensure_role(self, action: BaseAction[Any]) -> None:
        if not self._may_use(action):
            role = self.context.access.role
            raise PermissionDeniedError(
                f"{action.label} needs the {action.required_role} role in this team; you are {role}."
            )

    async def _load_one(self, kind: ObjectType[Any], object_id: UUID, *, for_change: bool) -> Target:
        target = (await kind.load(self.context.session, [object_id], for_change=for_change)).get(object_id)
        if target is None:
            raise ResourceNotFoundError(f"{_readable(kind.name).capitalize()} not found.")
        return target

    def _check(self, kind: ObjectType[Any], action: BaseAction[Any], target: Target, version: int) -> None:
        ensure_current_version(kind=_readable(kind.name), current=kind.version_of(target), sent=version)
        reason = action.unavailable_reason(target, self.context)
        if reason is not None:
            raise ConflictError(reason, extra={"unavailable_reason": reason})

    def _parse(
        self, action: BaseAction[Any], raw: Any, envelope_type: type[msgspec.Struct]
    ) -> tuple[Any, Any]:
        envelope, errors = _envelope_errors(raw, envelope_type)
        data = None
        try:
            data = parse_input(action.InputSchema, raw.get(INPUT_KEY) if isinstance(raw, dict) else None)
        except DomainError as exc:
            errors += exc.extra.get("errors", [])
        tag = getattr(envelope, "action", None)
        if tag is not None and tag != action.key():
            errors.append(field_error("action", f"Must be {action.key()!r}, the action named by the path"))
        if errors:
            raise bad_request(errors)
        return envelope, data

    # --- the routes ---------------------------------------------------------------------------

    async def list_actions(self, object_type: str, object_id: UUID) -> ActionList:
        kind = self._kind(object_type)
        target = await self._load_one(kind, object_id, for_change=False)
        items = [
            ActionRead(
                action=action.key(),
                name=action.name,
                label=action.label,
                icon=action.icon,
                description=action.description,
                input_schema=input_json_schema(action),
                available=(reason := action.unavailable_reason(target, self.context)) is None,
                unavailable_reason=reason,
            )
            for action in self.registry.actions_of(object_type)
            if self._may_use(action)
        ]
        return ActionList(items=items, total=len(items), limit=len(items), offset=0)

    async def execute(self, object_type: str, object_id: UUID, action_name: str, raw: Any) -> msgspec.Struct:
        kind = self._kind(object_type)
        action = self._action(object_type, action_name)
        envelope, data = self._parse(action, raw, ExecuteEnvelope)
        target = await self._load_one(kind, object_id, for_change=True)
        self._ensure_role(action)
        self._check(kind, action, target, envelope.version)
        [result] = await action.execute_many(self.context, [target], data)
        read = await kind.read(self.context.session, [object_id])
        return self.schemas.result_types[object_type](
            action=action.key(), object=read[object_id], result=result
        )  # pyright: ignore[reportCallIssue]

    async def execute_bulk(self, object_type: str, action_name: str, raw: Any) -> msgspec.Struct:
        kind = self._kind(object_type)
        action = self._action(object_type, action_name)
        envelope, data = self._parse(action, raw, BulkEnvelope)
        refs = envelope.objects
        ids = [ref.id for ref in refs]
        if len(set(ids)) != len(ids):
            raise bad_request([field_error("objects", "Each object may appear once")])
        self._ensure_role(action)
        targets = await kind.load(self.context.session, ids, for_change=True)
        failures: dict[UUID, Exception] = {}
        for ref in refs:
            target = targets.get(ref.id)
            try:
                if target is None:
                    raise ResourceNotFoundError(f"{_readable(kind.name).capitalize()} not found.")
                self._check(kind, action, target, ref.version)
            except DomainError as exc:
                failures[ref.id] = exc
        runnable = [targets[i] for i in ids if i not in failures]
        runnable_ids = [i for i in ids if i not in failures]
        if envelope.mode is BulkMode.ALL:
            if failures:
                raise self._all_or_nothing_failure(action, len(ids), failures)
            results = dict(
                zip(runnable_ids, await action.execute_many(self.context, runnable, data), strict=True)
            )
        else:
            results = await self._each(action, runnable_ids, runnable, data, failures)
        reads = await kind.read(self.context.session, list(results))
        items = []
        for object_id in ids:
            if object_id in results:
                items.append(
                    self.schemas.bulk_item_types[object_type](
                        id=object_id, ok=True, object=reads[object_id], result=results[object_id]
                    )  # pyright: ignore[reportCallIssue]
                )
            else:
                items.append(
                    self.schemas.bulk_item_types[object_type](
                        id=object_id, ok=False, problem=_problem_of(failures[object_id])
                    )  # pyright: ignore[reportCallIssue]
                )
        return self.schemas.bulk_result_types[object_type](
            action=action.key(), mode=envelope.mode, succeeded=len(results), failed=len(failures), items=items
        )  # pyright: ignore[reportCallIssue]

    def _all_or_nothing_failure(
        self, action: BaseAction[Any], total: int, failures: dict[UUID, Exception]
    ) -> DomainError:
        first_id, first = next(iter(failures.items()))
        assert isinstance(first, DomainError)
        listed = [
            {"id": str(object_id), "status": getattr(exc, "status_code", 409), "detail": str(exc)}
            for object_id, exc in failures.items()
        ]
        return type(first)(
            f"{len(failures)} of {total} objects cannot take {action.label!r}, so none did "
            f'(first, {first_id}: {first.detail}) Send mode "each" to apply it to the others.',
            extra={**first.extra, "failures": listed},
        )

    async def _each(
        self,
        action: BaseAction[Any],
        ids: Sequence[UUID],
        targets: Sequence[Target],
        data: Any,
        failures: dict[UUID, Exception],
    ) -> dict[UUID, msgspec.Struct | None]:
        """All at once in a savepoint; if that fails, one by one, each in its own savepoint."""
        session = self.context.session
        if not targets:
            return {}
        try:
            async with session.begin_nested():
                return dict(zip(ids, await action.execute_many(self.context, targets, data), strict=True))
        except Exception as exc:
            if _problem_of(exc) is None:
                raise
        results: dict[UUID, msgspec.Struct | None] = {}
        reloaded = await self._kind(action.object_type).load(session, ids, for_change=True)
        for object_id in ids:
            target = reloaded.get(object_id)
            try:
                if target is None:
                    raise ResourceNotFoundError("Not found.")
                async with session.begin_nested():
                    [results[object_id]] = await action.execute_many(self.context, [target], data)
            except Exception as exc:
                if _problem_of(exc) is None:
                    raise
                failures[object_id] = exc
        return results
