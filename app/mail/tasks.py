"""Delivery of queued emails."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from saq.types import Context

from app.db.engine import tenant_session
from app.db.rls import EMAIL_ID_SETTING
from app.db.tenancy import select_by_secret
from app.mail.models import EmailMessage
from app.queue.registry import resources, task


@task(timeout=60, retries=5, retry_delay=5.0, retry_backoff=600.0)
async def send_email(ctx: Context, *, email_id: str) -> str:
    """Send one outbox message. Idempotent: a message already sent or kept is left alone."""
    worker = resources(ctx)
    async with tenant_session(worker.session_maker, None) as session:
        # The job names its message (`app.email_id`): the outbox shows the application role that one only.
        lookup = select_by_secret(
            EmailMessage, EMAIL_ID_SETTING, str(UUID(email_id)), match=EmailMessage.id, for_update=True
        )
        message = (await session.execute(lookup)).scalar_one_or_none()
        if message is None or message.status in {"sent", "kept"}:
            return "skipped"
        message.attempts += 1
        if not worker.mailer.delivers:
            message.status = "kept"
            return "kept"
        try:
            await worker.mailer.send(
                worker.mailer.build(
                    to=message.to_address,
                    subject=message.subject,
                    html=message.html_body,
                    text=message.text_body,
                )
            )
        except Exception as exc:
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            message.status = "failed"
            await session.commit()  # keep the attempt on record; SAQ retries with backoff
            raise
        message.status = "sent"
        message.sent_at = datetime.now(tz=UTC)
        message.last_error = None
        return "sent"
