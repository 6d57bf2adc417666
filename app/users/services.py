"""Accounts and sessions: registration, login with throttling, refresh-token rotation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from uuid import UUID

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from app.config import AuthSettings
from app.db.rls import CLIENT_ADDRESS_SETTING, LOOKUP_EMAIL_SETTING, TOKEN_DIGEST_SETTING, USER_ID_SETTING
from app.db.tenancy import TenantContext, get_tenant, select_by_secret, set_tenant
from app.lib.auth import AccessTokens
from app.lib.crypto import Passwords, new_token, token_digest
from app.lib.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ErrorCode,
    TooManyRequestsError,
)
from app.lib.schema import normalize_email
from app.users.models import ActionToken, LoginFailure, RefreshToken, User
from app.users.schemas import TokenPair

INVALID_CREDENTIALS = "Email or password is incorrect."


def utcnow() -> datetime:
    return datetime.now(tz=UTC)


class UserService(SQLAlchemyAsyncRepositoryService[User]):
    """User accounts. Emails are stored lower-cased and are unique across the platform.

    Row-level security shows a user their own row, their current team's members, and the
    account a lookup by email names (`app.lookup_email`, set by the lookup itself).
    """

    class Repo(SQLAlchemyAsyncRepository[User]):
        model_type = User

        async def get_by_email(self, email: str) -> User | None:
            """The account using `email`, visible to this transaction from now on (sign-in, reset)."""
            statement = select_by_secret(User, LOOKUP_EMAIL_SETTING, normalize_email(email), match=User.email)
            return (await self.session.execute(statement)).scalar_one_or_none()

        async def email_taken(self, email: str, *, except_user_id: UUID | None = None) -> bool:
            """Whether another account uses `email`; its row is visible to this transaction from
            now on, so a registration may then create the account under that address."""
            others = [User.id != except_user_id] if except_user_id is not None else []
            statement = select_by_secret(
                User, LOOKUP_EMAIL_SETTING, normalize_email(email), match=User.email, where=others
            )
            return (await self.session.execute(statement)).first() is not None

        async def get_proven(self, user_id: UUID) -> User | None:
            """The user a verified credential names (a signed sign-in challenge): this statement
            enters their context (`app.user_id`) for the transaction and reads their row."""
            statement = select_by_secret(User, USER_ID_SETTING, str(user_id), match=User.id)
            return (await self.session.execute(statement)).scalar_one_or_none()

    repository_type = Repo

    async def register(self, *, email: str, password: str, name: str, passwords: Passwords) -> User:
        if await self.repository.email_taken(email):
            raise ConflictError(
                "An account with this email already exists; log in or reset the password.",
                code=ErrorCode.DUPLICATE,
            )
        user = User(email=normalize_email(email), name=name.strip(), password_hash=passwords.hash(password))
        return await self.repository.add(user)

    async def update_profile(self, user_id: UUID, *, email: str, name: str) -> User:
        user = await self.repository.get(user_id)
        if await self.repository.email_taken(email, except_user_id=user_id):
            raise ConflictError("Another account already uses this email.", code=ErrorCode.DUPLICATE)
        user.email = normalize_email(email)
        user.name = name.strip()
        await self.repository.session.flush()
        return user

    async def change_password(
        self, user_id: UUID, *, current_password: str, new_password: str, passwords: Passwords
    ) -> User:
        user = await self.repository.get(user_id)
        if not passwords.verify(user.password_hash, current_password):
            raise AuthenticationError("The current password is incorrect.")
        user.password_hash = passwords.hash(new_password)
        await self.repository.session.flush()
        return user


@dataclass(frozen=True, slots=True)
class LoginThrottle:
    max_per_account: int
    max_per_address: int
    window: timedelta


class LoginFailureService(SQLAlchemyAsyncRepositoryService[LoginFailure]):
    """Counts recent failed logins per account and per client address.

    Atomic: each attempt first reserves a failure row under transaction-level advisory locks on
    its address and account (count, decide and insert in one locked step, committed at once),
    and only then checks the password. Parallel guesses therefore cannot all pass the check
    before any of them is counted; a successful login gives its reservation back. The locks are
    held for the count and the insert only, never during password hashing.
    """

    class Repo(SQLAlchemyAsyncRepository[LoginFailure]):
        model_type = LoginFailure

        async def lock_for(self, *, email: str, address: str) -> None:
            """Take the attempt's locks and name its account and address to row-level security
            (the throttle's rows are visible by them only), in one statement."""
            # Address first, then account, always in this order: no two attempts wait in a cycle.
            await self.session.execute(
                select(
                    func.set_config(LOOKUP_EMAIL_SETTING, email, True),
                    func.set_config(CLIENT_ADDRESS_SETTING, address, True),
                    func.pg_advisory_xact_lock(func.hashtextextended("login-address:" + address, 0)),
                    func.pg_advisory_xact_lock(func.hashtextextended("login-email:" + email, 0)),
                )
            )

        async def count_recent(self, *, email: str, address: str, since: datetime) -> tuple[int, int]:
            recent = LoginFailure.created_at >= since
            statement = select(
                func.count().filter(LoginFailure.email == email),
                func.count().filter(LoginFailure.address == address),
            ).where(recent, or_(LoginFailure.email == email, LoginFailure.address == address))
            by_account, by_address = (await self.session.execute(statement)).one()
            return int(by_account), int(by_address)

    repository_type = Repo

    async def reserve_attempt(self, *, email: str, address: str, throttle: LoginThrottle) -> UUID:
        """Count the attempt as a failure now (429 if over a limit); `release` it on success."""
        address = address[:64]
        await self.repository.lock_for(email=email, address=address)
        by_account, by_address = await self.repository.count_recent(
            email=email, address=address, since=utcnow() - throttle.window
        )
        if by_account >= throttle.max_per_account or by_address >= throttle.max_per_address:
            seconds = int(throttle.window.total_seconds())
            raise TooManyRequestsError(
                f"Too many failed logins; try again in {seconds // 60 or 1} minutes or reset the password.",
                headers={"Retry-After": str(seconds)},
            )
        attempt = await self.repository.add(LoginFailure(email=email, address=address))
        await self.repository.session.commit()  # counts at once (and releases the locks)
        return attempt.id

    async def release(self, attempt_id: UUID) -> None:
        """The attempt succeeded: it is not a failure after all."""
        await self.repository.session.execute(delete(LoginFailure).where(LoginFailure.id == attempt_id))


class RefreshTokenService(SQLAlchemyAsyncRepositoryService[RefreshToken]):
    """Rotating refresh tokens. Only a SHA-256 digest is stored.

    Each refresh returns a new token and retires the old one. Presenting a retired token means
    it leaked (the legitimate client already rotated it), so its whole family is revoked.
    """

    class Repo(SQLAlchemyAsyncRepository[RefreshToken]):
        model_type = RefreshToken

        async def get_own_by_token(self, token: str) -> RefreshToken | None:
            """The caller's own token (row-level security shows no one else's)."""
            return await self.get_one_or_none(token_hash=token_digest(token))

        async def get_presented(self, token: str) -> RefreshToken | None:
            """The token presented to refresh, shown by its digest (`app.token_digest`). While it
            is unrevoked and unexpired, the same statement enters its user's context: holding
            the token is what proves who is asking."""
            statement = select_by_secret(
                RefreshToken,
                TOKEN_DIGEST_SETTING,
                token_digest(token),
                match=RefreshToken.token_hash,
                enter_user_when=lambda found: (
                    found.c.revoked_at.is_(None) & (found.c.expires_at > func.now())
                ),
            )
            return (await self.session.execute(statement)).scalar_one_or_none()

        async def revoke_family(self, family_id: UUID, *, at: datetime) -> None:
            await self.session.execute(
                update(RefreshToken)
                .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
                .values(revoked_at=at)
            )

        async def revoke_all_of_user(self, user_id: UUID, *, at: datetime) -> None:
            await self.session.execute(
                update(RefreshToken)
                .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
                .values(revoked_at=at)
            )

    repository_type = Repo

    async def issue(
        self,
        user: User,
        *,
        access_tokens: AccessTokens,
        settings: AuthSettings,
        family_id: UUID | None = None,
    ) -> TokenPair:
        token = new_token()
        family_id = family_id or uuid7()
        await self.repository.add(
            RefreshToken(
                user_id=user.id,
                family_id=family_id,
                token_hash=token_digest(token),
                expires_at=utcnow() + settings.refresh_token_ttl,
            )
        )
        return TokenPair(
            access_token=access_tokens.issue(
                user.id,
                is_platform_admin=user.is_platform_admin,
                session_epoch=user.session_epoch,
                session_id=family_id,
            ),
            refresh_token=token,
            expires_in=int(access_tokens.ttl.total_seconds()),
        )

    async def rotate(self, token: str) -> RefreshToken:
        """Retire `token` and return it; the caller issues its successor in the same family.

        Raises AuthenticationError for unknown, expired, revoked or already-rotated tokens; a
        rotated token's reuse first revokes (and commits the revocation of) its family.
        """
        now = utcnow()
        stored = await self.repository.get_presented(token)
        if stored is None or stored.revoked_at is not None or stored.expires_at <= now:
            raise AuthenticationError("The refresh token is invalid or expired; log in again.")
        _enter_user(self.repository.session, stored.user_id)
        if stored.rotated_at is not None:
            await self.repository.revoke_family(stored.family_id, at=now)
            await self.repository.session.commit()  # the revocation must outlive the 401
            raise ReusedRefreshTokenError(
                "This refresh token was already used; all sessions from it are revoked."
            )
        stored.rotated_at = now
        await self.repository.session.flush()
        return stored

    async def revoke(self, token: str, *, user_id: UUID) -> None:
        stored = await self.repository.get_own_by_token(token)
        if stored is not None and stored.user_id == user_id:
            await self.repository.revoke_family(stored.family_id, at=utcnow())

    async def revoke_all(self, user_id: UUID) -> None:
        """End every session of the user: refresh tokens are revoked, and access tokens already
        handed out stop working at once (their `sep` no longer matches the user's epoch)."""
        await self.repository.revoke_all_of_user(user_id, at=utcnow())
        await self.repository.session.execute(
            update(User).where(User.id == user_id).values(session_epoch=User.session_epoch + 1)
        )


def _enter_user(session: AsyncSession, user_id: UUID) -> None:
    """Keep the user's context (entered by the lookup statement) for later transactions too."""
    base = get_tenant(session)
    if base is None or base.user_id != user_id:
        set_tenant(session, TenantContext(user_id=user_id))


class ReusedRefreshTokenError(AuthenticationError):
    """A rotated refresh token came back; its family has been revoked."""


class TokenPurpose(StrEnum):
    PASSWORD_RESET = "password_reset"
    EMAIL_VERIFICATION = "email_verification"


EMAILS_PER_HOUR = 3
"""At most this many reset or verification emails per account and hour: the address cannot be
flooded through our endpoints (further requests are accepted, and nothing is sent)."""

TOKEN_LIFETIMES = {
    TokenPurpose.PASSWORD_RESET: timedelta(hours=1),
    TokenPurpose.EMAIL_VERIFICATION: timedelta(hours=48),
}


class ActionTokenService(SQLAlchemyAsyncRepositoryService[ActionToken]):
    """Single-use, expiring tokens sent by email. Only their SHA-256 digest is stored."""

    class Repo(SQLAlchemyAsyncRepository[ActionToken]):
        model_type = ActionToken

        async def lock_by_token(self, token: str, purpose: TokenPurpose) -> ActionToken | None:
            """The emailed token, shown by its digest (`app.token_digest`) and locked. While it is
            unused and unexpired, the same statement enters its user's context."""
            statement = select_by_secret(
                ActionToken,
                TOKEN_DIGEST_SETTING,
                token_digest(token),
                match=ActionToken.token_hash,
                where=[ActionToken.purpose == purpose],
                for_update=True,
                enter_user_when=lambda found: found.c.used_at.is_(None) & (found.c.expires_at > func.now()),
            )
            return (await self.session.execute(statement)).scalar_one_or_none()

        async def count_issued_since(self, user_id: UUID, purpose: TokenPurpose, *, since: datetime) -> int:
            statement = select(func.count()).where(
                ActionToken.user_id == user_id,
                ActionToken.purpose == purpose,
                ActionToken.created_at >= since,
            )
            return int((await self.session.execute(statement)).scalar_one())

        async def retire_unused(self, user_id: UUID, purpose: TokenPurpose, *, at: datetime) -> None:
            await self.session.execute(
                update(ActionToken)
                .where(
                    ActionToken.user_id == user_id,
                    ActionToken.purpose == purpose,
                    ActionToken.used_at.is_(None),
                )
                .values(used_at=at)
            )

    repository_type = Repo

    async def recently_issued(self, user_id: UUID, purpose: TokenPurpose, *, window: timedelta) -> int:
        return await self.repository.count_issued_since(user_id, purpose, since=utcnow() - window)

    async def issue(self, user_id: UUID, purpose: TokenPurpose) -> str:
        """A new token for `purpose`; earlier unused ones stop working (only the newest link does)."""
        now = utcnow()
        await self.repository.retire_unused(user_id, purpose, at=now)
        token = new_token()
        await self.repository.add(
            ActionToken(
                user_id=user_id,
                purpose=purpose,
                token_hash=token_digest(token),
                expires_at=now + TOKEN_LIFETIMES[purpose],
            )
        )
        return token

    async def consume(self, token: str, purpose: TokenPurpose) -> ActionToken:
        what = "reset link" if purpose is TokenPurpose.PASSWORD_RESET else "verification link"
        stored = await self.repository.lock_by_token(token, purpose)
        if stored is None:
            raise BadRequestError(f"This {what} is not valid; request a new one.")
        if stored.used_at is not None:
            raise BadRequestError(
                f"This {what} was already used or replaced by a newer one; request a new one."
            )
        if stored.expires_at <= utcnow():
            raise BadRequestError(f"This {what} has expired; request a new one.")
        _enter_user(self.repository.session, stored.user_id)
        stored.used_at = utcnow()
        await self.repository.session.flush()
        return stored
