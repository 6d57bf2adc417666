"""The decoding boundary: every request body is checked here, before any handler or
dependency runs (no session is opened for a body that cannot be read).

In order, a body must be:

1. `application/json` (or `application/*+json`), else 415;
2. no larger than the route's limit (`MAX_REQUEST_BODY_BYTES`), else 413;
3. UTF-8, else 400 `invalid_encoding`;
4. nested at most `MAX_JSON_DEPTH` levels, else 400 `too_deep`;
5. free of characters PostgreSQL cannot store (NUL, unpaired surrogates) in any string or
   key, else 400 naming each field.

Query strings get the same treatment for NUL. Only `/api` routes are checked; an empty body is
always fine (routes without a body ignore it, routes with one say it is required).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, get_args
from urllib.parse import parse_qsl

import msgspec
from litestar.enums import ScopeType
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send
from litestar.utils.scope.state import ScopeState

from app.lib.errors import (
    BadRequestError,
    ErrorCode,
    UnsupportedMediaTypeError,
    field_error,
    invalid_fields,
)

MAX_JSON_DEPTH = 32
"""Objects and arrays nested deeper than this are refused (400 `too_deep`)."""

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_JSON_TYPE = re.compile(r"^application/(?:[\w.+-]+\+)?json$")
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def json_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether `body` nests objects/arrays deeper than `limit` (strings do not count)."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub(b'""', body)):
        if match.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def unstorable_fields(value: Any, path: str = "") -> list[dict[str, Any]]:
    """Every string or key under `value` that PostgreSQL cannot store, by JSON path."""
    if isinstance(value, str):
        return [field_error(path or None, _unstorable_message(value))] if _UNSTORABLE.search(value) else []
    found: list[dict[str, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if _UNSTORABLE.search(str(key)):
                found.append(field_error(where, "The field name contains a character that cannot be stored"))
            found.extend(unstorable_fields(item, where))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(unstorable_fields(item, f"{path}[{index}]"))
    return found


def _unstorable_message(value: str) -> str:
    if "\x00" in value:
        return "Must not contain the NUL character (\\u0000)"
    return "Must not contain an unpaired surrogate (\\ud800-\\udfff); send valid Unicode"


def check_body(body: bytes, content_type: str | None, *, max_bytes: int | None) -> None:
    """Raise the 4xx a malformed body deserves; return if it is fit for the handler."""
    if not body:
        return
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if not _JSON_TYPE.match(media_type):
        shown = f"`{media_type}`" if media_type else "no Content-Type"
        raise UnsupportedMediaTypeError(
            f"The body must be JSON sent as `application/json`; got {shown}.",
            headers={"Accept": "application/json"},
        )
    if max_bytes is not None and len(body) > max_bytes:
        raise RequestEntityTooLarge()
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequestError(
            f"The request body is not valid UTF-8 (byte {exc.start}); send JSON encoded as UTF-8.",
            code=ErrorCode.INVALID_ENCODING,
        ) from None
    if json_depth_exceeds(body):
        raise BadRequestError(
            f"The request body nests deeper than {MAX_JSON_DEPTH} levels.", code=ErrorCode.TOO_DEEP
        )
    if _SUSPECT_ESCAPE.search(body):
        try:
            decoded = msgspec.json.decode(body)
        except msgspec.DecodeError:
            return  # malformed: the handler's decoder names the problem
        if errors := unstorable_fields(decoded):
            raise invalid_fields(errors)


def check_query(query_string: bytes) -> None:
    if b"%00" not in query_string and b"\x00" not in query_string:
        return
    errors = [
        field_error(
            part.split(b"=", 1)[0].decode("latin-1") or None,
            "Must not contain the NUL character",
            "query",
        )
        for part in query_string.split(b"&")
        if b"%00" in part or b"\x00" in part
    ]
    raise invalid_fields(errors)


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:[Zz]|[+-]\d{2}:?\d{2})$"
)
_DATE_PARAMS: dict[int, dict[str, str]] = {}


def _date_params(route_handler: Any) -> dict[str, str]:
    """The handler's query parameters typed as dates or date-times: name -> `date`/`date-time`."""
    key = id(route_handler)
    if key not in _DATE_PARAMS:
        found: dict[str, str] = {}
        signature = getattr(route_handler, "parsed_fn_signature", None)
        for name, field in signature.parameters.items() if signature is not None else []:
            types = {field.annotation, *get_args(field.annotation)}
            if datetime in types:
                found[name] = "date-time"
            elif date in types:
                found[name] = "date"
        _DATE_PARAMS[key] = found
    return _DATE_PARAMS[key]


def check_query_dates(route_handler: Any, query_string: bytes) -> None:
    """Dates in queries as the schema says (`format: date` / `date-time` with a zone): the
    framework alone would also take `0.5` as a timestamp, or a date-time without a zone."""
    params = _date_params(route_handler) if route_handler is not None else {}
    if not params or not query_string:
        return
    errors = []
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        kind = params.get(name)
        if kind == "date" and not _DATE.match(value):
            errors.append(field_error(name, "Expected a date like `2026-01-31`", "query"))
        elif kind == "date-time" and not _DATE_TIME.match(value):
            errors.append(
                field_error(
                    name, "Expected a date-time with a time zone, like `2026-01-31T09:00:00Z`", "query"
                )
            )
    if errors:
        raise invalid_fields(errors)


RAW_BODY_OPT = "raw_body"
"""A route's `opt` flag: its body is bytes, not JSON (local media uploads); the boundary skips it."""


class DecodingBoundaryMiddleware(ASGIMiddleware):
    """Reads and checks the body once; the handler then reads it from Litestar's cache."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if not scope["path"].startswith("/api"):
            await next_app(scope, receive, send)
            return
        check_query(scope.get("query_string", b""))
        check_query_dates(scope.get("route_handler"), scope.get("query_string", b""))
        if scope.get("method") == "OPTIONS":
            await next_app(scope, receive, _with_full_allow(scope, send))
            return
        if scope.get("method") not in _BODY_METHODS:
            await next_app(scope, receive, send)
            return
        route_handler = scope.get("route_handler")
        if getattr(route_handler, "opt", {}).get(RAW_BODY_OPT):  # the handler streams its own bytes
            await next_app(scope, receive, send)
            return
        resolve_limit = getattr(route_handler, "resolve_request_max_body_size", None)
        max_bytes: int | None = resolve_limit() if resolve_limit is not None else None
        body, disconnected = await _read_body(receive, max_bytes)
        content_type = next(
            (value.decode("latin-1") for name, value in scope["headers"] if name == b"content-type"), None
        )
        check_body(body, content_type, max_bytes=max_bytes)
        ScopeState.from_scope(scope).body = body
        await next_app(scope, _replay(body, receive, disconnected), send)


async def _read_body(receive: Receive, max_bytes: int | None) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks), True
        chunk = message.get("body", b"")
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            raise RequestEntityTooLarge()
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), False


def _replay(body: bytes, receive: Receive, disconnected: bool) -> Receive:
    sent = False

    async def replay() -> ReceiveMessage:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if disconnected:
            return {"type": "http.disconnect"}
        return await receive()

    return replay


def _allowed_methods(scope: Scope) -> str | None:
    """Every method of the path, across all the routes Litestar made for it (its own OPTIONS
    handler lists only the methods of one of them)."""
    handler = scope.get("route_handler")
    paths = getattr(handler, "paths", None)
    if not paths:
        return None
    methods = {"OPTIONS"}
    for route in scope["app"].routes:
        if route.path in paths:
            methods.update(route.methods)
    return ", ".join(sorted(methods))


def _with_full_allow(scope: Scope, send: Send) -> Send:
    allow = _allowed_methods(scope)

    async def sender(message: Message) -> None:
        if allow is not None and message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
            message["headers"] = [*headers, (b"allow", allow.encode())]
        await send(message)

    return sender
