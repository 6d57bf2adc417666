"""What may be uploaded: each kind's target, allowed types and size limit."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.config import MediaSettings


class MediaKind(StrEnum):
    POST_MEDIA = "post_media"
    """A post's draft under review: photos and videos, ordered."""
    BRAND_LOGO = "brand_logo"
    """One per brand: a new one replaces the old."""
    CREATOR_AVATAR = "creator_avatar"
    """One per creator: a new one replaces the old."""
    CREATOR_MEDIA_KIT = "creator_media_kit"
    """A creator's media kit: PDFs or images, several allowed."""
    MESSAGE_ATTACHMENT = "message_attachment"
    """A file on a thread message: uploaded for the object whose thread it goes to (the upload's
    `target_type` and `target_id`), attached when the message is posted with its id."""


class TargetType(StrEnum):
    """What a file belongs to; the same strings as the objects' event and thread types."""

    POST = "post"
    BRAND = "brand"
    CREATOR = "creator"
    CAMPAIGN = "campaign"
    """Message attachments only (the campaign's thread)."""
    TODO = "todo"
    """Message attachments only (the to-do's thread)."""


IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
VIDEO_TYPES = frozenset({"video/mp4", "video/quicktime", "video/webm"})
DOCUMENT_TYPES = frozenset({"application/pdf"})
STILL_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})

TYPE_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "video/x-m4v": "video/mp4"}


def normalized_type(content_type: str) -> str:
    base = content_type.split(";", 1)[0].strip().lower()
    return TYPE_ALIASES.get(base, base)


@dataclass(frozen=True, slots=True)
class KindRule:
    kind: MediaKind
    target: TargetType | None
    """`None`: the upload names it (message attachments go to any object with a thread)."""
    types: frozenset[str]
    single: bool
    """Only one ready file per target: a newly processed one detaches the previous one."""

    def max_bytes(self, settings: MediaSettings) -> int:
        match self.kind:
            case MediaKind.POST_MEDIA:
                return settings.max_post_media_bytes
            case MediaKind.BRAND_LOGO | MediaKind.CREATOR_AVATAR:
                return settings.max_image_bytes
            case MediaKind.CREATOR_MEDIA_KIT | MediaKind.MESSAGE_ATTACHMENT:
                return settings.max_media_kit_bytes


RULES: dict[MediaKind, KindRule] = {
    MediaKind.POST_MEDIA: KindRule(MediaKind.POST_MEDIA, TargetType.POST, IMAGE_TYPES | VIDEO_TYPES, False),
    MediaKind.BRAND_LOGO: KindRule(MediaKind.BRAND_LOGO, TargetType.BRAND, STILL_IMAGE_TYPES, True),
    MediaKind.CREATOR_AVATAR: KindRule(MediaKind.CREATOR_AVATAR, TargetType.CREATOR, STILL_IMAGE_TYPES, True),
    MediaKind.CREATOR_MEDIA_KIT: KindRule(
        MediaKind.CREATOR_MEDIA_KIT, TargetType.CREATOR, DOCUMENT_TYPES | STILL_IMAGE_TYPES, False
    ),
    MediaKind.MESSAGE_ATTACHMENT: KindRule(
        MediaKind.MESSAGE_ATTACHMENT, None, IMAGE_TYPES | VIDEO_TYPES | DOCUMENT_TYPES, False
    ),
}
