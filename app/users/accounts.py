"""Account flows that send email: verification (and the welcome that follows), password reset.

Each flow writes its token, its outbox email and the delivery job in the request's transaction.
"""

from __future__ import annotations

from datetime import timedelta

from saq.queue.base import Queue
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.lib.crypto import Passwords
from app.lib.errors import ConflictError, TooManyRequestsError
from app.mail.rendering import EmailTemplate
from app.mail.services import EmailService
from app.users.models import User
from app.users.services import (
    EMAILS_PER_HOUR,
    TOKEN_LIFETIMES,
    ActionTokenService,
    RefreshTokenService,
    TokenPurpose,
    UserService,
    utcnow,
)


class AccountEmails:
    def __init__(self, session: AsyncSession, queue: Queue, settings: Settings) -> None:
        self.session = session
        self.queue = queue
        self.settings = settings
        self.users = UserService(session=session)
        self.tokens = ActionTokenService(session=session)
        self.emails = EmailService(session=session)

    def _link(self, path: str, token: str) -> str:
        return f"{self.settings.mail.app_base_url}{path}?token={token}"

    async def send_verification(self, user: User) -> None:
        if user.email_verified_at is not None:
            raise ConflictError("Your email address is already verified.")
        if await self._throttled(user, TokenPurpose.EMAIL_VERIFICATION):
            raise TooManyRequestsError(
                "A verification email was sent several times in the last hour; check your inbox (and spam).",
                headers={"Retry-After": "3600"},
            )
        token = await self.tokens.issue(user.id, TokenPurpose.EMAIL_VERIFICATION)
        lifetime = TOKEN_LIFETIMES[TokenPurpose.EMAIL_VERIFICATION]
        await self.emails.send_later(
            self.queue,
            to=user.email,
            template=EmailTemplate.EMAIL_VERIFICATION,
            context={
                "name": user.name,
                "verify_url": self._link("/verify-email", token),
                "expires_hours": int(lifetime.total_seconds() // 3600),
            },
        )

    async def verify(self, token: str) -> User:
        """Mark the address verified and send the welcome email (once)."""
        stored = await self.tokens.consume(token, TokenPurpose.EMAIL_VERIFICATION)
        user = await self.users.get(stored.user_id)
        if user.email_verified_at is None:
            user.email_verified_at = utcnow()
            await self.emails.send_later(
                self.queue,
                to=user.email,
                template=EmailTemplate.WELCOME,
                context={"name": user.name, "app_url": self.settings.mail.app_base_url},
            )
        return user

    async def request_password_reset(self, email: str) -> None:
        """Send a reset link if the account exists and is active; say nothing either way."""
        user = await self.users.repository.get_by_email(email)
        if user is None or not user.is_active or await self._throttled(user, TokenPurpose.PASSWORD_RESET):
            return
        token = await self.tokens.issue(user.id, TokenPurpose.PASSWORD_RESET)
        lifetime = TOKEN_LIFETIMES[TokenPurpose.PASSWORD_RESET]
        await self.emails.send_later(
            self.queue,
            to=user.email,
            template=EmailTemplate.PASSWORD_RESET,
            context={
                "name": user.name,
                "reset_url": self._link("/reset-password", token),
                "expires_minutes": int(lifetime.total_seconds() // 60),
            },
        )

    async def _throttled(self, user: User, purpose: TokenPurpose) -> bool:
        sent = await self.tokens.recently_issued(user.id, purpose, window=timedelta(hours=1))
        return sent >= EMAILS_PER_HOUR

    async def reset_password(self, token: str, password: str, passwords: Passwords) -> None:
        """Set the new password and sign the account out everywhere."""
        stored = await self.tokens.consume(token, TokenPurpose.PASSWORD_RESET)
        user = await self.users.get(stored.user_id)
        user.password_hash = passwords.hash(password)
        await RefreshTokenService(session=self.session).revoke_all(user.id)
        await self.session.flush()
