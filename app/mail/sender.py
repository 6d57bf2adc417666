"""SMTP delivery with aiosmtplib."""

from __future__ import annotations

from email.message import EmailMessage as MimeMessage
from email.utils import make_msgid

import aiosmtplib

from app.config import MailSettings


class Mailer:
    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    @property
    def delivers(self) -> bool:
        """False without SMTP_HOST: mail then stays in the outbox table (development)."""
        return self.settings.smtp_host is not None

    def build(self, *, to: str, subject: str, html: str, text: str) -> MimeMessage:
        message = MimeMessage()
        message["From"] = self.settings.mail_from
        message["To"] = to
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(
            domain=self.settings.mail_from.rsplit("@", 1)[-1].strip(">") or None
        )
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        return message

    async def send(self, message: MimeMessage) -> None:
        settings = self.settings
        assert settings.smtp_host is not None
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_user,
            password=settings.smtp_password,
            use_tls=settings.smtp_tls == "tls",
            start_tls=settings.smtp_tls == "starttls",
            timeout=20,
        )
