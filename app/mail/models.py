from __future__ import annotations

from datetime import datetime

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import AuditBase, RowLevelSecured
from app.db.rls import CURRENT_EMAIL_ID, CURRENT_LOOKUP_EMAIL, CURRENT_USER_ID, IS_PLATFORM_ADMIN, RlsPolicy

OUTBOX_POLICY = RlsPolicy(
    name="outbox_visibility",
    using=f"id = {CURRENT_EMAIL_ID} OR {IS_PLATFORM_ADMIN}",
    with_check=(
        f"id = {CURRENT_EMAIL_ID} OR {IS_PLATFORM_ADMIN} OR {CURRENT_USER_ID} IS NOT NULL "
        f"OR to_address = {CURRENT_LOOKUP_EMAIL}"
    ),
)
"""Mail bodies carry sign-in links: a request may queue a message (a signed-in user, or to the
account its lookup names) but reads none back; the delivery job sees the one it names by id."""


class EmailMessage(RowLevelSecured, AuditBase):
    """One outgoing email. Not team data: it belongs to its recipient."""

    __tablename__ = "email_messages"
    __rls_policy__ = OUTBOX_POLICY
    __table_args__ = (Index("ix_email_messages_status_created", "status", "created_at"),)

    to_address: Mapped[str] = mapped_column(String(254), index=True)
    template: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(300))
    html_body: Mapped[str] = mapped_column(Text)
    text_body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    """queued -> sent (over SMTP) | kept (no SMTP configured: the outbox is the destination) | failed."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    sent_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
