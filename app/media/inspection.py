"""What a file really is: its type from its bytes, its dimensions, and a thumbnail (Pillow).

Pure functions over bytes, so the task stays about state and storage. Pillow and puremagic are
imported on first use: the API process imports the task module but never decodes an image.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any

from app.media.kinds import IMAGE_TYPES, normalized_type

THUMBNAIL_SIZE = (480, 480)
THUMBNAIL_TYPE = "image/webp"
MAX_IMAGE_PIXELS = 100_000_000
"""Larger images are refused (a decompression bomb costs the worker memory, not the client)."""

_PIL_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
_MAGIC_HEAD = 8192

DESCRIPTIONS = {
    "image/jpeg": "a JPEG image",
    "image/png": "a PNG image",
    "image/webp": "a WebP image",
    "image/gif": "a GIF image",
    "video/mp4": "an MP4 video",
    "video/quicktime": "a QuickTime video",
    "video/webm": "a WebM video",
    "application/pdf": "a PDF document",
}


def describe(content_type: str | None) -> str:
    if content_type is None:
        return "a file of unknown type"
    return DESCRIPTIONS.get(content_type, f"a {content_type} file")


class UnreadableError(Exception):
    """The bytes claim a format but cannot be read as it (truncated or corrupt)."""


@dataclass(frozen=True, slots=True)
class Inspection:
    content_type: str | None
    width: int | None = None
    height: int | None = None
    thumbnail: bytes | None = None


def sniff_type(head: bytes) -> str | None:
    """The type the first bytes announce, or None when no known signature matches."""
    import puremagic

    try:
        found = puremagic.from_string(head[:_MAGIC_HEAD], mime=True)
    except (puremagic.PureError, ValueError):
        return None
    return normalized_type(found) if found else None


def inspect_image(data: bytes) -> Inspection:
    """Open, fully decode and thumbnail an image; UnreadableError when it is truncated or corrupt."""
    from PIL import Image, UnidentifiedImageError

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as probe:
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                content_type = _PIL_TYPES.get(image.format or "")
                if image.width * image.height > MAX_IMAGE_PIXELS:
                    raise UnreadableError(f"it is {image.width}x{image.height} pixels, more than we process")
                image.load()
                thumbnail = _thumbnail(image)
                return Inspection(content_type, image.width, image.height, thumbnail)
        except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise UnreadableError(str(exc)) from exc
        except (OSError, SyntaxError, ValueError) as exc:  # Pillow's truncated/corrupt signals
            raise UnreadableError(str(exc)) from exc


def inspect_bytes(data: bytes) -> Inspection:
    content_type = sniff_type(data)
    if content_type in IMAGE_TYPES:
        return inspect_image(data)
    return Inspection(content_type)


def _thumbnail(image: Any) -> bytes:
    frame = image.convert("RGBA" if image.mode in {"RGBA", "LA", "P"} else "RGB")
    frame.thumbnail(THUMBNAIL_SIZE)
    out = io.BytesIO()
    frame.save(out, format="WEBP", quality=80)
    return out.getvalue()
