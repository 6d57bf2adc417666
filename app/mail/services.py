from __future__ import annotations

from typing import Any

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from saq.queue.base import Queue

from app.mail.models import EmailMessage
from app.mail.rendering import EmailTemplate, render_email
from app.queue.enqueue import enqueue


class EmailService(SQLAlchemyAsyncRepositoryService[EmailMessage]):
    class Repo(SQLAlchemyAsyncRepository[EmailMessage]):
        model_type = EmailMessage

    repository_type = Repo

    async def send_later(
        self, queue: Queue, *, to: str, template: EmailTemplate, context: dict[str, Any]
    ) -> EmailMessage:
        """Render now (a template error fails the request, not a job), store, and enqueue delivery
        in the caller's transaction: the mail goes out if and only if the change commits."""
        rendered = render_email(template, context)
        # Not read back: a request may queue mail but not read the outbox (its row-level policy).
        message = await self.repository.add(
            EmailMessage(
                to_address=to,
                template=template.value,
                subject=rendered.subject,
                html_body=rendered.html,
                text_body=rendered.text,
            ),
            auto_refresh=False,
        )
        await enqueue(
            self.repository.session, queue, "send_email", key=f"email:{message.id}", email_id=str(message.id)
        )
        return message
