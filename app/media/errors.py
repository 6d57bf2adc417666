"""The media domain's own refusals (translated to problem details by app.lib.errors)."""

from __future__ import annotations

from app.lib.errors import DomainError


class TooLargeError(DomainError):
    """413: over the kind's size limit, the declared size, or the team's storage quota."""

    status_code = 413


class UnsupportedTypeError(DomainError):
    """415: a content type the kind does not take."""

    status_code = 415
