"""Templates render completely (HTML and text), and delivery really speaks SMTP."""

from __future__ import annotations

import asyncio

import msgspec
import pytest
from jinja2 import UndefinedError
from litestar import Litestar

from app.config import MailSettings
from app.db.engine import tenant_session
from app.db.tenancy import TenantContext
from app.mail.models import EmailMessage
from app.mail.rendering import SAMPLE_CONTEXTS, EmailTemplate, render_email
from app.mail.sender import Mailer
from app.mail.tasks import send_email
from app.queue.registry import RESOURCES_KEY, WorkerResources
from tests.background import SmtpSink, free_port, text_part
from tests.factories import UserFactory


@pytest.mark.parametrize("template", list(EmailTemplate))
def test_every_template_renders_html_text_and_subject(template: EmailTemplate) -> None:
    rendered = render_email(template, SAMPLE_CONTEXTS[template])
    assert rendered.subject
    assert "\n" not in rendered.subject
    assert rendered.html.lstrip().startswith("<!DOCTYPE html>")
    assert "{{" not in rendered.html
    assert "{{" not in rendered.text
    for value in SAMPLE_CONTEXTS[template].values():
        if isinstance(value, str) and value.startswith("http"):
            assert value in rendered.text
            assert value in rendered.html


def test_a_missing_variable_is_an_error_not_a_blank() -> None:
    with pytest.raises(UndefinedError):
        render_email(EmailTemplate.WELCOME, {})


def test_html_escapes_user_supplied_values() -> None:
    context = {**SAMPLE_CONTEXTS[EmailTemplate.TEAM_INVITATION], "team_name": "<script>alert(1)</script>"}
    rendered = render_email(EmailTemplate.TEAM_INVITATION, context)
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;" in rendered.html


def _mail_settings(port: int) -> MailSettings:
    return MailSettings(
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_user=None,
        smtp_password=None,
        smtp_tls="none",
        mail_from="Campaign Platform <no-reply@example.com>",
        app_base_url="http://localhost:3000",
    )


async def _queued_message(app: Litestar) -> EmailMessage:
    """Queued as a request of its recipient would: in their context (the outbox's policy)."""
    rendered = render_email(EmailTemplate.WELCOME, SAMPLE_CONTEXTS[EmailTemplate.WELCOME])
    ada = await UserFactory.create_async(email="ada@example.com")
    async with tenant_session(app.state.session_maker, TenantContext(user_id=ada.id)) as session:
        message = EmailMessage(
            to_address="ada@example.com",
            template="welcome",
            subject=rendered.subject,
            html_body=rendered.html,
            text_body=rendered.text,
        )
        session.add(message)
    return message


def _context(app: Litestar, mailer: Mailer) -> dict:
    resources = WorkerResources(
        settings=app.state.settings,
        session_maker=app.state.session_maker,
        system_session_maker=None,
        mailer=mailer,
    )
    return {RESOURCES_KEY: resources}


async def test_send_email_delivers_once_over_smtp(
    app: Litestar, smtp_sink: SmtpSink, owner_connection
) -> None:
    message = await _queued_message(app)
    ctx = _context(app, Mailer(_mail_settings(smtp_sink.port)))

    assert await send_email(ctx, email_id=str(message.id)) == "sent"  # pyright: ignore[reportArgumentType]
    assert await send_email(ctx, email_id=str(message.id)) == "skipped"  # pyright: ignore[reportArgumentType]

    delivered = await asyncio.to_thread(smtp_sink.wait_for, "ada@example.com")
    assert len(delivered) == 1
    assert delivered[0]["From"] == "Campaign Platform <no-reply@example.com>"
    assert "Welcome" in delivered[0]["Subject"]
    assert "confirmed" in text_part(delivered[0])
    row = await owner_connection.fetchrow("SELECT status, attempts, sent_at FROM email_messages")
    assert (row["status"], row["attempts"]) == ("sent", 1)
    assert row["sent_at"] is not None


async def test_an_unreachable_smtp_server_fails_the_job_and_records_why(
    app: Litestar, owner_connection
) -> None:
    message = await _queued_message(app)
    ctx = _context(app, Mailer(_mail_settings(free_port())))
    with pytest.raises(Exception, match=r"(?i)connect"):
        await send_email(ctx, email_id=str(message.id))  # pyright: ignore[reportArgumentType]
    row = await owner_connection.fetchrow("SELECT status, attempts, last_error FROM email_messages")
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert row["last_error"]


async def test_without_smtp_the_outbox_keeps_the_mail(app: Litestar, owner_connection) -> None:
    message = await _queued_message(app)
    no_smtp = msgspec.structs.replace(_mail_settings(25), smtp_host=None)
    assert await send_email(_context(app, Mailer(no_smtp)), email_id=str(message.id)) == "kept"  # pyright: ignore[reportArgumentType]
    assert await owner_connection.fetchval("SELECT status FROM email_messages") == "kept"
