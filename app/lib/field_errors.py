"""Every failing field of a JSON object at once, nested ones included.

msgspec stops at the first error it meets. To answer a bad body with all of its problems, the
object is checked field by field against its Struct: unknown fields, missing required ones, and
each value on its own — recursing into nested Structs and lists of Structs, so the key of an
error is its full path (`input.published_url`, `handles[2].platform`). Rules across fields
(`__post_init__`) run only once every field is valid, so they are not repeated here.
"""

from __future__ import annotations

import re
import types
from typing import Annotated, Any, Union, get_args, get_origin

import msgspec

_AT_PATH = re.compile(r" - at `\$(?:\.)?([^`]*)`$")
_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")
_MISSING_FIELD = re.compile(r"missing required field `([^`]+)`")
_REGEX = re.compile(r"Expected `str` matching regex `.*`")
_TZ = re.compile(r"Expected `datetime` with a timezone component")

UNKNOWN_FIELD_MESSAGE = "Unknown field `{}`; remove it (the schema lists the accepted fields)"


def field_error(key: str | None, message: str, source: str = "body") -> dict[str, Any]:
    return {"key": key, "message": message, "source": source}


def _join(prefix: str, name: str) -> str:
    if not prefix:
        return name
    return f"{prefix}{name}" if name.startswith("[") else f"{prefix}.{name}"


def friendly(item: dict[str, Any]) -> dict[str, Any]:
    """msgspec's messages, with the offending field as `key` and no raw regexes."""
    message = str(item.get("message", ""))
    key = item.get("key")
    if (match := _AT_PATH.search(message)) is not None:
        key = _join(key or "", match.group(1)) if match.group(1) else key
        message = message[: match.start()]
    if (match := _UNKNOWN_FIELD.search(message)) is not None:
        key = _join(key or "", match.group(1))
        message = UNKNOWN_FIELD_MESSAGE.format(match.group(1))
    elif (match := _MISSING_FIELD.search(message)) is not None:
        key = _join(key or "", match.group(1))
        message = "Is required"
    if _REGEX.fullmatch(message):
        message = "Has an invalid format" + (" (expected an email address)" if key and "email" in key else "")
    if _TZ.match(message):
        message = "Needs a time zone (e.g. `2026-01-01T09:00:00Z` or `+02:00`)"
    return {"key": key, "message": message, "source": item.get("source", "body")}


def _unwrap(annotation: Any) -> tuple[Any, list[msgspec.Meta]]:
    """The type under `Annotated[...]` and `X | None`, with the constraints met on the way."""
    metas: list[msgspec.Meta] = []
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation, *extras = get_args(annotation)
            metas.extend(extra for extra in extras if isinstance(extra, msgspec.Meta))
        elif origin in (Union, types.UnionType):
            present = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(present) != 1:
                return annotation, metas
            annotation = present[0]
        else:
            return annotation, metas


def _struct_type(annotation: Any) -> type[msgspec.Struct] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct) else None


def _length_errors(metas: list[msgspec.Meta], value: list[Any], key: str) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    for meta in metas:
        if meta.max_length is not None and len(value) > meta.max_length:
            errors.append(field_error(key, f"Expected an array of length <= {meta.max_length}"))
        if meta.min_length is not None and len(value) < meta.min_length:
            errors.append(field_error(key, f"Expected an array of length >= {meta.min_length}"))
    return errors


def _value_errors(annotation: Any, value: Any, key: str) -> list[dict[str, Any]]:
    inner, metas = _unwrap(annotation)
    if (nested := _struct_type(inner)) is not None and isinstance(value, dict):
        return struct_field_errors(nested, value, key)  # pyright: ignore[reportUnknownArgumentType]
    if get_origin(inner) is list and isinstance(value, list):
        item_type = (get_args(inner) or (Any,))[0]
        if _struct_type(_unwrap(item_type)[0]) is not None:
            errors = _length_errors(metas, value, key)  # pyright: ignore[reportUnknownArgumentType]
            for index, item in enumerate(value):  # pyright: ignore[reportUnknownArgumentType, reportUnknownVariableType]
                errors.extend(_value_errors(item_type, item, f"{key}[{index}]"))
            return errors
    try:
        msgspec.convert(value, annotation)
    except msgspec.ValidationError as exc:
        return [friendly({"key": key, "message": str(exc), "source": "body"})]
    return []


def struct_field_errors(
    struct_type: type[msgspec.Struct], raw: dict[str, Any], prefix: str = ""
) -> list[dict[str, Any]]:
    """Every unknown, missing or invalid field of `raw` as `struct_type`, with its full path."""
    fields = {field.encode_name: field for field in msgspec.structs.fields(struct_type)}
    errors = [
        field_error(_join(prefix, name), UNKNOWN_FIELD_MESSAGE.format(name))
        for name in raw
        if name not in fields
    ]
    for name, info in fields.items():
        key = _join(prefix, name)
        if name not in raw:
            if info.required:
                errors.append(field_error(key, "Is required"))
            continue
        errors.extend(_value_errors(info.type, raw[name], key))
    return errors
