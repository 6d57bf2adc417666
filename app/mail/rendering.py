"""Email templates: Jinja2 files in `emails/templates`, one HTML, one plain-text and one
subject file per email, sharing a layout. See `emails/README.md` for why Jinja2."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.config import PROJECT_ROOT

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATE_DIR = PROJECT_ROOT / "emails" / "templates"


class EmailTemplate(StrEnum):
    TEAM_INVITATION = "team_invitation"
    PASSWORD_RESET = "password_reset"
    EMAIL_VERIFICATION = "email_verification"
    WELCOME = "welcome"
    NOTIFICATION_DIGEST = "notification_digest"


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


@lru_cache(maxsize=2)
def _environment(directory: Path = TEMPLATE_DIR) -> Environment:
    # Imported on the first email, not at start-up: most API processes render few.
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=FileSystemLoader(directory),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,  # a missing variable is an error, not a blank in a sent mail
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_email(template: EmailTemplate, context: dict[str, Any]) -> RenderedEmail:
    env = _environment()
    subject = env.get_template(f"{template}.subject.txt").render(context).strip()
    return RenderedEmail(
        subject=" ".join(subject.split()),
        html=env.get_template(f"{template}.html").render(context, subject=subject),
        text=env.get_template(f"{template}.txt").render(context),
    )


SAMPLE_CONTEXTS: dict[EmailTemplate, dict[str, Any]] = {
    EmailTemplate.TEAM_INVITATION: {
        "team_name": "Northwind Agency",
        "inviter_name": "Ada Lovelace",
        "role": "member",
        "accept_url": "http://localhost:3000/invitations/accept?token=sample-token",
        "expires_days": 7,
    },
    EmailTemplate.PASSWORD_RESET: {
        "name": "Ada",
        "reset_url": "http://localhost:3000/reset-password?token=sample-token",
        "expires_minutes": 60,
    },
    EmailTemplate.EMAIL_VERIFICATION: {
        "name": "Ada",
        "verify_url": "http://localhost:3000/verify-email?token=sample-token",
        "expires_hours": 48,
    },
    EmailTemplate.WELCOME: {"name": "Ada", "app_url": "http://localhost:3000"},
    EmailTemplate.NOTIFICATION_DIGEST: {
        "name": "Ada",
        "count": 3,
        "frequency": "daily",
        "items": [
            {
                "team_name": "Northwind Agency",
                "text": "Grace mentioned you on a post: can you check the caption?",
            },
            {"team_name": "Northwind Agency", "text": "Grace assigned you a to-do: Brief the creators"},
            {"team_name": "Contoso Brands", "text": "Linus moved a post to approved"},
        ],
        "more": 0,
        "notifications_url": "http://localhost:3000/notifications",
    },
}
"""Realistic values for previews (`make dev-emails`) and for the template tests."""
