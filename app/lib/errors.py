"""Our exception types and their one translation to HTTP: RFC 9457 problem details.

Services raise `DomainError` subclasses; nothing below the controllers knows about HTTP
status codes beyond the class they pick. Every failure leaves as `application/problem+json`
with `type`, `title`, `status`, `detail` and, for bad input, `errors` naming each field.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

import msgspec
from advanced_alchemy.exceptions import (
    DuplicateKeyError,
    ForeignKeyError,
    IntegrityError,
    NotFoundError,
    RepositoryError,
)
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    SerializationException,
    ValidationException,
)
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class DomainError(Exception):
    status_code: int = 400

    def __init__(
        self, detail: str, *, extra: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ):
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}
        self.headers = headers or {}


class BadRequestError(DomainError):
    status_code = 400


class UnprocessableError(DomainError):
    status_code = 422


class AuthenticationError(DomainError):
    status_code = 401


class PermissionDeniedError(DomainError):
    status_code = 403


class ResourceNotFoundError(DomainError):
    status_code = 404


class ConflictError(DomainError):
    status_code = 409


class GoneError(DomainError):
    """Existed, but can no longer be used (an expired or revoked link)."""

    status_code = 410


class TooManyRequestsError(DomainError):
    status_code = 429


def invalid_field(key: str, message: str) -> BadRequestError:
    """A 400 naming the field, shaped like the framework's own validation errors."""
    return BadRequestError(
        f"{key}: {message}", extra={"errors": [{"key": key, "message": message, "source": "body"}]}
    )


def unknown_reference(key: str, message: str) -> UnprocessableError:
    """A 422 for an id that names nothing visible to the caller (missing, or another team's)."""
    return UnprocessableError(
        f"{key}: {message}", extra={"errors": [{"key": key, "message": message, "source": "body"}]}
    )


def problem(
    status: int,
    detail: str,
    *,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    phrase = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": f"https://httpstatuses.io/{status}",
        "title": phrase,
        "status": status,
        "detail": detail,
    }
    if extra:
        body.update(extra)
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _domain_error(_: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    return problem(exc.status_code, exc.detail, extra=exc.extra, headers=exc.headers)


_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")
_AT_PATH = re.compile(r" - at `\$\.([^`]+)`$")
_REGEX = re.compile(r"Expected `str` matching regex `.*`")


def _friendly(item: dict[str, Any]) -> dict[str, Any]:
    """msgspec's messages, with the offending field as `key` and no raw regexes."""
    message = str(item.get("message", ""))
    key = item.get("key")
    if (match := _AT_PATH.search(message)) is not None:
        key = match.group(1)
        message = message[: match.start()]
    if (match := _UNKNOWN_FIELD.search(message)) is not None:
        key = match.group(1)
        message = f"Unknown field `{key}`; remove it (the schema lists the accepted fields)"
    if _REGEX.fullmatch(message):
        message = "Has an invalid format" + (" (expected an email address)" if key and "email" in key else "")
    return {"key": key, "message": message, "source": item.get("source")}


def _field_errors(exc: ValidationException) -> list[dict[str, Any]]:
    return [
        _friendly(item)
        for item in (exc.extra if isinstance(exc.extra, list) else [])
        if isinstance(item, dict)
    ]


def _validation_error(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    errors = _field_errors(exc)
    detail = exc.detail
    if errors:
        detail = "; ".join(
            f"{e.get('key') or 'body'}: {e.get('message')}" if e.get("key") else str(e.get("message"))
            for e in errors
        )
    return problem(400, detail, extra={"errors": errors} if errors else None)


def _http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    detail = exc.detail
    if exc.status_code == 413:
        detail = "The request body is too large."
    elif isinstance(exc.__cause__, SerializationException):
        detail = f"The request body is not valid JSON: {detail}"
    elif exc.status_code == 404 and detail == "Not Found":
        detail = "Nothing exists at this path. Check the URL: ids in paths are UUIDs."
    elif isinstance(exc, NotAuthorizedException) and detail in {"", "Unauthorized"}:
        detail = "Authentication required: send a valid bearer access token."
    extra = exc.extra if isinstance(exc.extra, dict) else None
    return problem(exc.status_code, detail, extra=extra, headers=exc.headers)


def _not_found(_: Request[Any, Any, Any], exc: NotFoundError) -> Response[Any]:
    return problem(404, "The requested resource was not found.")


def _conflict(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return problem(409, "The change conflicts with existing data (a duplicate or a reference in use).")


def _stale(_: Request[Any, Any, Any], exc: StaleDataError) -> Response[Any]:
    return problem(409, "The record was changed by someone else; reload it and apply your change again.")


def _database_error(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[Any]:
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None) or ""
    if sqlstate.startswith("23"):  # integrity violations
        return _conflict(request, exc)
    if sqlstate == "42501":  # insufficient privilege, incl. a row-level security WITH CHECK
        return problem(403, "This change is not allowed in the current team.")
    if sqlstate.startswith("22"):  # data exceptions: value out of range, bad format
        return problem(400, "A value in the request is out of range or malformed.")
    return _unexpected(request, exc)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(HTTP_500_INTERNAL_SERVER_ERROR, "An unexpected error occurred; it has been logged.")


exception_handlers: ExceptionHandlersMap = {
    DomainError: _domain_error,
    ValidationException: _validation_error,
    HTTPException: _http_error,
    NotFoundError: _not_found,
    DuplicateKeyError: _conflict,
    ForeignKeyError: _conflict,
    IntegrityError: _conflict,
    StaleDataError: _stale,
    DBAPIError: _database_error,
    RepositoryError: _unexpected,
    Exception: _unexpected,
}

__all__ = [
    "PROBLEM_JSON",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "DomainError",
    "GoneError",
    "MediaType",
    "PermissionDeniedError",
    "ResourceNotFoundError",
    "TooManyRequestsError",
    "UnprocessableError",
    "exception_handlers",
    "invalid_field",
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
    errors: list[FieldError] | None = None
    current_version: int | None = None
    """On a stale-version 409: the version to reload."""
    allowed_statuses: list[str] | None = None
    """On an illegal status move (409): where the object may move from its current status."""


_DESCRIPTIONS = {
    400: "Malformed JSON, unknown fields or invalid values; `errors` names each field.",
    401: "Missing, invalid or expired credentials.",
    403: "Your role in this team does not allow this.",
    404: "Not found, or not visible to you.",
    409: "A duplicate, a stale `version`, or a rule that the change would break.",
    410: "The link or token existed but has expired or was revoked.",
    413: "The request body is too large.",
    422: "Well-formed, but refers to something that does not exist.",
    429: "Too many attempts; see Retry-After.",
}


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """`responses=` for a route: the listed error statuses, documented as problem details."""
    return {
        status: ResponseSpec(
            data_container=ProblemDetails,
            description=_DESCRIPTIONS[status],
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
        for status in statuses
    }


TEAM_ROUTE_ERRORS = problem_responses(400, 401, 403, 404, 409, 422)
"""What any `/api/teams/...` route may answer besides success."""
