"""Our exception types and their one translation to HTTP: RFC 9457 problem details.

Services raise `DomainError` subclasses; nothing below the controllers knows about HTTP
status codes beyond the class they pick. Every failure leaves as `application/problem+json`
with `type`, `title`, `status`, `detail`, a stable machine-readable `code` (see `ErrorCode`)
and, for bad input, `errors` naming each field.

Database errors are classified once, here: integrity violations are 409s named by their
constraint, data errors 400s, and a database that cannot be reached a 503 with Retry-After
(logged once per outage by `app.lib.availability`, not once per request).
"""

from __future__ import annotations

import logging
from enum import StrEnum
from http import HTTPStatus
from types import TracebackType
from typing import Any

import asyncpg
import msgspec
from advanced_alchemy.exceptions import NotFoundError, RepositoryError
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    SerializationException,
    ValidationException,
)
from litestar.openapi import ResponseSpec
from litestar.types import ExceptionHandlersMap
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm.exc import StaleDataError

from app.lib.field_errors import field_error, friendly, struct_field_errors

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://campaign-platform.dev/problems/"
RETRY_AFTER_SECONDS = 2
"""What a 503 tells clients to wait before trying again."""


class ErrorCode(StrEnum):
    """The `code` of every problem details body: stable, for clients to branch on."""

    VALIDATION_FAILED = "validation_failed"
    MALFORMED_JSON = "malformed_json"
    INVALID_ENCODING = "invalid_encoding"
    TOO_DEEP = "too_deep"
    BODY_TOO_LARGE = "body_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    NOT_AUTHENTICATED = "not_authenticated"
    SESSION_ENDED = "session_ended"
    INVALID_CREDENTIALS = "invalid_credentials"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    CONFLICT = "conflict"
    DUPLICATE = "duplicate"
    STALE_VERSION = "stale_version"
    ILLEGAL_TRANSITION = "illegal_transition"
    IN_USE = "in_use"
    CAMPAIGN_FINISHED = "campaign_finished"
    GONE = "gone"
    UNKNOWN_REFERENCE = "unknown_reference"
    TOO_MANY_REQUESTS = "too_many_requests"
    SERVICE_UNAVAILABLE = "service_unavailable"
    MFA_REQUIRED = "mfa_required"
    INVALID_MFA_CODE = "invalid_mfa_code"
    SIGN_IN_FAILED = "sign_in_failed"
    EMAIL_NOT_VERIFIED = "email_not_verified"
    IDENTITY_PROVIDER_ERROR = "identity_provider_error"
    IDENTITY_PROVIDER_UNAVAILABLE = "identity_provider_unavailable"
    INTERNAL_ERROR = "internal_error"


_CODE_BY_STATUS = {
    400: ErrorCode.VALIDATION_FAILED,
    401: ErrorCode.NOT_AUTHENTICATED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    409: ErrorCode.CONFLICT,
    410: ErrorCode.GONE,
    413: ErrorCode.BODY_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    422: ErrorCode.UNKNOWN_REFERENCE,
    429: ErrorCode.TOO_MANY_REQUESTS,
    502: ErrorCode.IDENTITY_PROVIDER_ERROR,
    503: ErrorCode.SERVICE_UNAVAILABLE,
}


def default_code(status: int) -> str:
    return _CODE_BY_STATUS.get(
        status, ErrorCode.INTERNAL_ERROR if status >= 500 else ErrorCode.VALIDATION_FAILED
    )


class DomainError(Exception):
    status_code: int = 400
    code: str = ErrorCode.VALIDATION_FAILED

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.extra = extra or {}
        self.headers = headers or {}


class BadRequestError(DomainError):
    status_code = 400
    code = ErrorCode.VALIDATION_FAILED


class UnprocessableError(DomainError):
    status_code = 422
    code = ErrorCode.UNKNOWN_REFERENCE


class AuthenticationError(DomainError):
    status_code = 401
    code = ErrorCode.NOT_AUTHENTICATED


class SessionEndedError(AuthenticationError):
    """The token is genuine but its session ended (logout everywhere, password change,
    deactivation, deletion)."""

    code = ErrorCode.SESSION_ENDED


class PermissionDeniedError(DomainError):
    status_code = 403
    code = ErrorCode.FORBIDDEN


class ResourceNotFoundError(DomainError):
    status_code = 404
    code = ErrorCode.NOT_FOUND


class ConflictError(DomainError):
    status_code = 409
    code = ErrorCode.CONFLICT


class GoneError(DomainError):
    """Existed, but can no longer be used (an expired or revoked link)."""

    status_code = 410
    code = ErrorCode.GONE


class UnsupportedMediaTypeError(DomainError):
    status_code = 415
    code = ErrorCode.UNSUPPORTED_MEDIA_TYPE


class TooManyRequestsError(DomainError):
    status_code = 429
    code = ErrorCode.TOO_MANY_REQUESTS


class BadGatewayError(DomainError):
    """A service we depend on (an identity provider) answered, but not usably."""

    status_code = 502
    code = ErrorCode.IDENTITY_PROVIDER_ERROR


class UpstreamUnavailableError(DomainError):
    """A service we depend on (an identity provider) cannot be reached right now."""

    status_code = 503
    code = ErrorCode.IDENTITY_PROVIDER_UNAVAILABLE


def invalid_fields(
    errors: list[dict[str, Any]], *, code: str = ErrorCode.VALIDATION_FAILED
) -> BadRequestError:
    """A 400 listing every failing field at once."""
    detail = "; ".join(f"{e['key']}: {e['message']}" if e.get("key") else str(e["message"]) for e in errors)
    return BadRequestError(detail, code=code, extra={"errors": errors})


def invalid_field(key: str, message: str, *, source: str = "body") -> BadRequestError:
    """A 400 naming the field, shaped like the framework's own validation errors."""
    return invalid_fields([field_error(key, message, source)])


def unknown_reference(key: str, message: str) -> UnprocessableError:
    """A 422 for an id that names nothing visible to the caller (missing, or another team's)."""
    return UnprocessableError(f"{key}: {message}", extra={"errors": [field_error(key, message)]})


def problem(
    status: int,
    detail: str,
    *,
    code: str | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    code = code or default_code(status)
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code.replace("_", "-"),
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if extra:
        body.update(extra)
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _domain_error(_: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    return problem(exc.status_code, exc.detail, code=exc.code, extra=exc.extra, headers=exc.headers)


# --- bad input: msgspec's messages made readable, every failing field at once ---------------


def _field_errors(exc: ValidationException) -> list[dict[str, Any]]:
    return [
        friendly(item)
        for item in (exc.extra if isinstance(exc.extra, list) else [])
        if isinstance(item, dict)
    ]


def _body_type(request: Request[Any, Any, Any]) -> type[msgspec.Struct] | None:
    try:
        field = request.route_handler.parsed_data_field
    except Exception:
        return None
    annotation = getattr(field, "annotation", None)
    return annotation if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct) else None


def every_field_error(struct_type: type[msgspec.Struct], body: bytes) -> list[dict[str, Any]]:
    """Each failing field of a JSON object body, nested ones included (msgspec stops at the first)."""
    try:
        raw = msgspec.json.decode(body)
    except (msgspec.DecodeError, ValueError, RecursionError):
        return []
    return struct_field_errors(struct_type, raw) if isinstance(raw, dict) else []


def _validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    errors = _field_errors(exc)
    struct_type = _body_type(request)
    if struct_type is not None and any(e.get("source") == "body" for e in errors):
        body = request._connection_state.body  # pyright: ignore[reportPrivateUsage]
        if isinstance(body, bytes) and (every := every_field_error(struct_type, body)):
            errors = every
    if errors:
        return _domain_error(request, invalid_fields(errors))
    return problem(400, exc.detail or "The request is invalid.")


def _http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    detail = exc.detail
    code: str | None = None
    if exc.status_code == 413:
        detail = "The request body is too large."
    elif isinstance(exc.__cause__, SerializationException):
        detail = f"The request body is not valid JSON: {detail}"
        code = ErrorCode.MALFORMED_JSON
    elif exc.status_code == 404 and detail == "Not Found":
        detail = "Nothing exists at this path. Check the URL: ids in paths are UUIDs."
    elif isinstance(exc, NotAuthorizedException) and detail in {"", "Unauthorized"}:
        detail = "Authentication required: send a valid bearer access token."
    extra = exc.extra if isinstance(exc.extra, dict) else None
    return problem(exc.status_code, detail, code=code, extra=extra, headers=exc.headers)


def _not_found(_: Request[Any, Any, Any], exc: NotFoundError) -> Response[Any]:
    return problem(404, "The requested resource was not found.")


def _stale(_: Request[Any, Any, Any], exc: StaleDataError) -> Response[Any]:
    if str(exc).startswith("DELETE statement"):  # a concurrent delete got there first
        return problem(404, "The requested resource was not found (it was just deleted).")
    return problem(
        409,
        "The record was changed by someone else; reload it and apply your change again.",
        code=ErrorCode.STALE_VERSION,
    )


# --- database errors: classified by SQLSTATE and constraint, outages as 503 ----------------


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _raised_by_driver(exc: BaseException) -> bool:
    tb: TracebackType | None = exc.__traceback__
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        if module.startswith(("asyncpg", "sqlalchemy", "advanced_alchemy")):
            return True
        tb = tb.tb_next
    return False


_OUTAGE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")


def database_unavailable(exc: BaseException) -> bool:
    """The database could not be reached or went away mid-request (not bad input)."""
    for item in _chain(exc):
        if isinstance(item, PoolTimeoutError):
            return True
        if isinstance(item, DBAPIError) and item.connection_invalidated:
            return True
        sqlstate = _sqlstate(item)
        if sqlstate and sqlstate.startswith(_OUTAGE_SQLSTATES):
            return True
        name = type(item).__name__
        if name in {"ConnectionDoesNotExistError", "InterfaceError"} and "closed" in str(item):
            return True
        if isinstance(item, OSError) and _raised_by_driver(item):
            return True
    return False


def _sqlstate(exc: BaseException) -> str | None:
    for candidate in (exc, getattr(exc, "orig", None)):
        sqlstate = getattr(candidate, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate:
            return sqlstate
    return None


def _constraint(exc: BaseException) -> str | None:
    for item in _chain(exc):
        for candidate in (
            item,
            getattr(item, "orig", None),
            getattr(getattr(item, "orig", None), "__cause__", None),
        ):
            name = getattr(candidate, "constraint_name", None)
            if isinstance(name, str) and name:
                return name
    return None


def _integrity_problem(sqlstate: str, constraint: str | None) -> Response[Any]:
    what = f" ({constraint})" if constraint else ""
    if sqlstate == "23505":
        return problem(409, f"This already exists{what}; pick another value.", code=ErrorCode.DUPLICATE)
    if sqlstate == "23503":
        return problem(
            409,
            f"The change refers to, or removes, a record that other records depend on{what}.",
            code=ErrorCode.IN_USE,
        )
    if sqlstate in {"23502", "23514"}:
        return problem(400, f"A value breaks a rule of the data{what}.", code=ErrorCode.VALIDATION_FAILED)
    return problem(409, f"The change conflicts with existing data{what}.", code=ErrorCode.CONFLICT)


def _database_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if database_unavailable(exc):
        return _service_unavailable(request, exc)
    sqlstate = next((s for item in _chain(exc) if (s := _sqlstate(item))), "")
    if sqlstate.startswith("23"):  # integrity violations
        return _integrity_problem(sqlstate, _constraint(exc))
    if sqlstate == "42501":  # insufficient privilege, incl. a row-level security WITH CHECK
        return problem(403, "This change is not allowed in the current team.")
    if sqlstate.startswith("22"):  # data exceptions: value out of range, bad format, NUL
        return problem(400, "A value in the request is out of range or malformed.")
    if any(type(item).__name__ == "DataError" for item in _chain(exc)):  # refused by the driver
        return problem(400, "A value in the request is out of range or malformed.")
    if sqlstate in {"40001", "40P01"}:  # serialization failure, deadlock
        return problem(409, "A concurrent change got in the way; try again.", code=ErrorCode.CONFLICT)
    return _unexpected(request, exc)


def _service_unavailable(request: Request[Any, Any, Any], exc: BaseException) -> Response[Any]:
    availability = getattr(request.app.state, "db_availability", None)
    if availability is not None:
        availability.went_down(exc)
    return problem(
        503,
        "The service is briefly unavailable (its database cannot be reached); retry after the "
        "number of seconds in Retry-After.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if database_unavailable(exc):
        return _service_unavailable(request, exc)
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "An unexpected error occurred; it has been logged.")


exception_handlers: ExceptionHandlersMap = {
    DomainError: _domain_error,
    ValidationException: _validation_error,
    HTTPException: _http_error,
    NotFoundError: _not_found,
    StaleDataError: _stale,
    RepositoryError: _database_error,
    SQLAlchemyError: _database_error,
    # The fast read path (`app.db.reads`) talks to asyncpg directly: its errors arrive unwrapped.
    asyncpg.PostgresError: _database_error,
    asyncpg.InterfaceError: _database_error,
    OSError: _unexpected,
    Exception: _unexpected,
}

__all__ = [
    "PROBLEM_JSON",
    "AuthenticationError",
    "BadGatewayError",
    "BadRequestError",
    "ConflictError",
    "DomainError",
    "ErrorCode",
    "GoneError",
    "MediaType",
    "PermissionDeniedError",
    "ResourceNotFoundError",
    "SessionEndedError",
    "TooManyRequestsError",
    "UnprocessableError",
    "UnsupportedMediaTypeError",
    "UpstreamUnavailableError",
    "exception_handlers",
    "field_error",
    "invalid_field",
    "invalid_fields",
    "problem",
    "problem_responses",
    "unknown_reference",
]


# --- OpenAPI: the problem-details shape, so generated clients type their errors -----------


class FieldError(msgspec.Struct):
    key: str | None
    message: str
    source: str | None = None


class ProblemDetails(msgspec.Struct):
    """RFC 9457 problem details, as every error response carries them."""

    type: str
    title: str
    status: int
    detail: str
    code: ErrorCode
    """Stable and machine-readable: branch on this, not on `detail`."""
    errors: list[FieldError] | None = None
    current_version: int | None = None
    """On a stale-version 409: the version to reload."""
    allowed_statuses: list[str] | None = None
    """On an illegal status move (409): where the object may move from its current status."""
    campaign_status: str | None = None
    """On a 409 for a finished campaign: its status."""
    challenge_token: str | None = None
    """On a 401 `mfa_required`: send it with a code to `LoginSecondFactor`."""
    challenge_expires_in: int | None = None
    """On a 401 `mfa_required`: seconds the challenge stays valid."""


_DESCRIPTIONS = {
    400: "Malformed JSON, unknown fields or invalid values; `errors` names each field.",
    401: "Missing, invalid or expired credentials, or a session that has ended.",
    403: "Your role in this team does not allow this.",
    404: "Not found, or not visible to you.",
    409: "A duplicate, a stale `version`, or a rule that the change would break.",
    410: "The link or token existed but has expired or was revoked.",
    413: "The request body is too large.",
    415: "The body is not `application/json`.",
    422: "Well-formed, but refers to something that does not exist.",
    429: "Too many attempts; see Retry-After.",
    502: "The identity provider answered, but not usably; try again later.",
    503: "The database is briefly unreachable; retry after Retry-After seconds.",
}

ALWAYS = (503,)
"""Statuses any route may answer (the database may be away)."""
BODY_ERRORS = (400, 413, 415)
"""What any route that reads a body may answer."""


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """`responses=` for a route: the listed error statuses, documented as problem details."""
    return {
        status: ResponseSpec(
            data_container=ProblemDetails,
            description=_DESCRIPTIONS[status],
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
        for status in sorted({*statuses, *ALWAYS})
    }


TEAM_ROUTE_ERRORS = problem_responses(400, 401, 403, 404, 409, 422)
"""What any `/api/teams/...` route may answer besides success."""
