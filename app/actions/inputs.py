"""Action input: validated field by field, so one 400 names every bad field (msgspec stops at the first).

An `InputSchema` may define `invalid_fields(self) -> dict[str, str]` for rules that span the
present moment or several fields (a time in the future); they are reported the same way.
"""

from __future__ import annotations

import re
from typing import Any, cast

import msgspec

from app.lib.errors import BadRequestError

_AT_PATH = re.compile(r" - at `\$(?:\.([^`]*)|(\[[^`]*\]))?`$")
INPUT_KEY = "input"


def field_error(key: str, message: str) -> dict[str, Any]:
    return {"key": key, "message": message, "source": "body"}


def bad_request(errors: list[dict[str, Any]]) -> BadRequestError:
    detail = "; ".join(f"{error['key']}: {error['message']}" for error in errors)
    return BadRequestError(detail, extra={"errors": errors})


def _message(exc: msgspec.ValidationError, key: str) -> tuple[str, str]:
    text = str(exc)
    match = _AT_PATH.search(text)
    if match is None:
        return key, text
    inner = match.group(1) or match.group(2) or ""
    nested = f"{key}.{inner}" if match.group(1) else f"{key}{inner}"
    return nested, text[: match.start()]


def parse_input(schema: type[msgspec.Struct] | None, raw: Any) -> msgspec.Struct | None:
    """`raw` (the body's `input`) as `schema`, or a 400 listing each unknown, missing or invalid field."""
    if schema is None:
        if raw is None or raw == {}:
            return None
        raise bad_request([field_error(INPUT_KEY, "This action takes no input; send null or omit it")])
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise bad_request([field_error(INPUT_KEY, "Expected an object")])
    fields = {field.encode_name: field for field in msgspec.structs.fields(schema)}
    errors = [
        field_error(
            f"{INPUT_KEY}.{name}", f"Unknown field `{name}`; remove it (the schema lists the accepted fields)"
        )
        for name in raw
        if name not in fields
    ]
    for name, field in fields.items():
        key = f"{INPUT_KEY}.{name}"
        if name not in raw:
            if field.required:
                errors.append(field_error(key, "Is required"))
            continue
        try:
            msgspec.convert(raw[name], field.type)
        except msgspec.ValidationError as exc:
            errors.append(field_error(*_message(exc, key)))
    if errors:
        raise bad_request(errors)
    try:
        data = msgspec.convert(raw, schema)
    except msgspec.ValidationError as exc:  # a rule of the Struct itself (__post_init__)
        raise bad_request([field_error(*_message(exc, INPUT_KEY))]) from None
    check = getattr(data, "invalid_fields", None)
    if callable(check):
        problems = cast("dict[str, str]", check())
        if problems:
            raise bad_request(
                [field_error(f"{INPUT_KEY}.{name}", message) for name, message in problems.items()]
            )
    return data
