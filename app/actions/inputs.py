"""Action input: validated field by field (`app.lib.field_errors`), so one 400 names every bad field.

An `InputSchema` may define `invalid_fields(self) -> dict[str, str]` for rules that span the
present moment or several fields (a time in the future); they are reported the same way.
"""

from __future__ import annotations

from typing import Any, cast

import msgspec

from app.lib.errors import BadRequestError
from app.lib.field_errors import field_error, friendly, struct_field_errors

INPUT_KEY = "input"


def bad_request(errors: list[dict[str, Any]]) -> BadRequestError:
    detail = "; ".join(f"{error['key']}: {error['message']}" for error in errors)
    return BadRequestError(detail, extra={"errors": errors})


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
    errors = struct_field_errors(schema, raw, INPUT_KEY)
    if errors:
        raise bad_request(errors)
    try:
        data = msgspec.convert(raw, schema)
    except msgspec.ValidationError as exc:  # a rule of the Struct itself (__post_init__)
        raise bad_request([friendly({"key": INPUT_KEY, "message": str(exc)})]) from None
    check = getattr(data, "invalid_fields", None)
    if callable(check):
        problems = cast("dict[str, str]", check())
        if problems:
            raise bad_request(
                [field_error(f"{INPUT_KEY}.{name}", message) for name, message in problems.items()]
            )
    return data
