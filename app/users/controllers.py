"""Sign-up, sign-in and the caller's own account."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT
from saq.queue.base import Queue
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.lib.auth import AccessTokens, AuthUser
from app.lib.crypto import Passwords
from app.lib.errors import AuthenticationError, ErrorCode, problem_responses
from app.lib.schema import normalize_email
from app.queue.deps import queue_dependencies
from app.users.accounts import AccountEmails
from app.users.mfa import (
    MfaChallenges,
    TwoFactorService,
    enter_user_context,
    provide_challenges,
    provide_two_factor,
)
from app.users.models import User
from app.users.schemas import (
    Accepted,
    EmailVerification,
    Login,
    LogoutRequest,
    PasswordChange,
    PasswordReset,
    PasswordResetRequest,
    RefreshRequest,
    Register,
    TokenPair,
    UserRead,
    UserUpdate,
)
from app.users.services import (
    INVALID_CREDENTIALS,
    LoginFailureService,
    LoginThrottle,
    RefreshTokenService,
    UserService,
)


def provide_users(db_session: NamedDependency[AsyncSession]) -> UserService:
    return UserService(session=db_session)


def provide_refresh_tokens(db_session: NamedDependency[AsyncSession]) -> RefreshTokenService:
    return RefreshTokenService(session=db_session)


def provide_account_emails(
    db_session: NamedDependency[AsyncSession],
    job_queue: NamedDependency[Queue],
    settings: NamedDependency[Settings],
) -> AccountEmails:
    return AccountEmails(db_session, job_queue, settings)


def to_user_read(user: User) -> UserRead:
    return UserRead(
        id=user.id,
        email=user.email,
        name=user.name,
        is_platform_admin=user.is_platform_admin,
        email_verified=user.email_verified_at is not None,
        created_at=user.created_at,
    )


class AuthController(Controller):
    path = "/api/auth"
    tags = ["Auth"]
    dependencies = {
        "users": Provide(provide_users, sync_to_thread=False),
        "refresh_tokens": Provide(provide_refresh_tokens, sync_to_thread=False),
        "account_emails": Provide(provide_account_emails, sync_to_thread=False),
        "two_factor": Provide(provide_two_factor, sync_to_thread=False),
        "challenges": Provide(provide_challenges, sync_to_thread=False),
        **queue_dependencies,
    }

    @post(
        "/register",
        operation_id="Register",
        responses=problem_responses(400, 409),
        status_code=HTTP_201_CREATED,
        exclude_from_auth=True,
        security=[{}],  # public: no token needed
    )
    async def register(
        self,
        data: JSONBody[Register],
        users: NamedDependency[UserService],
        passwords: NamedDependency[Passwords],
        account_emails: NamedDependency[AccountEmails],
    ) -> UserRead:
        """Create an account and email a link to verify the address. Log in afterwards for tokens."""
        user = await users.register(
            email=data.email, password=data.password, name=data.name, passwords=passwords
        )
        await account_emails.send_verification(user)
        return to_user_read(user)

    @post(
        "/login",
        operation_id="Login",
        responses=problem_responses(400, 401, 429),
        status_code=HTTP_200_OK,
        exclude_from_auth=True,
        security=[{}],  # public: no token needed
    )
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[Login],
        users: NamedDependency[UserService],
        refresh_tokens: NamedDependency[RefreshTokenService],
        two_factor: NamedDependency[TwoFactorService],
        challenges: NamedDependency[MfaChallenges],
        db_session: NamedDependency[AsyncSession],
        passwords: NamedDependency[Passwords],
        access_tokens: NamedDependency[AccessTokens],
        settings: NamedDependency[Settings],
    ) -> TokenPair:
        """Exchange email and password for an access token and a refresh token.

        Failed attempts are limited per account and per client address (429 with Retry-After);
        the answer never reveals whether the email has an account. An account with two-factor
        sign-in answers 401 `mfa_required` with a `challenge_token` for `LoginSecondFactor`.
        """
        email = normalize_email(data.email)
        # Behind TRUSTED_PROXIES this is the forwarded client, not the proxy (app.lib.http_edge).
        address = request.client.host if request.client else "unknown"
        failures = LoginFailureService(session=db_session)
        throttle = LoginThrottle(
            max_per_account=settings.auth.login_max_failures_per_account,
            max_per_address=settings.auth.login_max_failures_per_address,
            window=settings.auth.login_failure_window,
        )
        attempt = await failures.reserve_attempt(email=email, address=address, throttle=throttle)
        user = await users.repository.get_by_email(email)
        valid = passwords.verify(user.password_hash if user else None, data.password)
        if user is None or not valid or not user.is_active:
            raise AuthenticationError(INVALID_CREDENTIALS, code=ErrorCode.INVALID_CREDENTIALS)
        await failures.release(attempt)
        await enter_user_context(db_session, user.id)
        if await two_factor.is_enabled(user.id):
            required = await challenges.required(user, first_factor="password")
            await db_session.commit()  # the released attempt and the challenge stay
            raise required
        return await refresh_tokens.issue(user, access_tokens=access_tokens, settings=settings.auth)

    @post(
        "/refresh",
        operation_id="RefreshToken",
        responses=problem_responses(400, 401),
        status_code=HTTP_200_OK,
        exclude_from_auth=True,
        security=[{}],  # public: no token needed
    )
    async def refresh(
        self,
        data: JSONBody[RefreshRequest],
        users: NamedDependency[UserService],
        refresh_tokens: NamedDependency[RefreshTokenService],
        access_tokens: NamedDependency[AccessTokens],
        settings: NamedDependency[Settings],
    ) -> TokenPair:
        """Trade a refresh token for a new pair. Each refresh token works once."""
        retired = await refresh_tokens.rotate(data.refresh_token)
        user = await users.get_one_or_none(id=retired.user_id)
        if user is None or not user.is_active:
            raise AuthenticationError("The account is no longer active.")
        return await refresh_tokens.issue(
            user, access_tokens=access_tokens, settings=settings.auth, family_id=retired.family_id
        )

    @post(
        "/logout",
        operation_id="Logout",
        responses=problem_responses(400, 401),
        status_code=HTTP_204_NO_CONTENT,
    )
    async def logout(
        self,
        data: JSONBody[LogoutRequest],
        current_user: NamedDependency[AuthUser],
        refresh_tokens: NamedDependency[RefreshTokenService],
    ) -> None:
        """Revoke a refresh token (and its rotation family), or every session when none is given.

        Access tokens are short-lived and simply expire.
        """
        if data.refresh_token is None:
            await refresh_tokens.revoke_all(current_user.id)
        else:
            await refresh_tokens.revoke(data.refresh_token, user_id=current_user.id)


class AccountController(Controller):
    """Email-based account flows: password reset and email verification."""

    path = "/api/auth"
    tags = ["Auth"]
    dependencies = {
        "users": Provide(provide_users, sync_to_thread=False),
        "account_emails": Provide(provide_account_emails, sync_to_thread=False),
        **queue_dependencies,
    }

    @post(
        "/password-reset",
        operation_id="RequestPasswordReset",
        responses=problem_responses(400),
        status_code=HTTP_202_ACCEPTED,
        exclude_from_auth=True,
        security=[{}],  # public: no token needed
    )
    async def request_password_reset(
        self, data: JSONBody[PasswordResetRequest], account_emails: NamedDependency[AccountEmails]
    ) -> Accepted:
        """Email a single-use reset link, if an account uses this address. Always 202: the answer
        never reveals whether the address has an account."""
        await account_emails.request_password_reset(data.email)
        return Accepted(detail="If an account uses this address, a reset link is on its way.")

    @post(
        "/password-reset/confirm",
        operation_id="ResetPassword",
        responses=problem_responses(400),
        status_code=HTTP_204_NO_CONTENT,
        exclude_from_auth=True,
        security=[{}],  # public: no token needed
    )
    async def reset_password(
        self,
        data: JSONBody[PasswordReset],
        account_emails: NamedDependency[AccountEmails],
        passwords: NamedDependency[Passwords],
    ) -> None:
        """Set a new password with the token from the reset email. Signs out every session."""
        await account_emails.reset_password(data.token, data.password, passwords)

    @post(
        "/verify-email",
        operation_id="VerifyEmail",
        responses=problem_responses(400),
        status_code=HTTP_200_OK,
        exclude_from_auth=True,
        security=[{}],  # public: no token needed
    )
    async def verify_email(
        self, data: JSONBody[EmailVerification], account_emails: NamedDependency[AccountEmails]
    ) -> UserRead:
        """Confirm the address with the token from the verification email; a welcome email follows."""
        return to_user_read(await account_emails.verify(data.token))

    @post(
        "/verify-email/resend",
        operation_id="ResendVerification",
        responses=problem_responses(401, 409, 429),
        status_code=HTTP_202_ACCEPTED,
    )
    async def resend_verification(
        self,
        current_user: NamedDependency[AuthUser],
        users: NamedDependency[UserService],
        account_emails: NamedDependency[AccountEmails],
    ) -> Accepted:
        """Send a new verification link (earlier ones stop working). 409 when already verified."""
        await account_emails.send_verification(await users.get(current_user.id))
        return Accepted(detail="A new verification link is on its way.")


class CurrentUserController(Controller):
    path = "/api/me"
    tags = ["Users"]
    dependencies = {
        "users": Provide(provide_users, sync_to_thread=False),
        "refresh_tokens": Provide(provide_refresh_tokens, sync_to_thread=False),
    }

    @get("", operation_id="GetCurrentUser", responses=problem_responses(401))
    async def get_current_user(
        self, current_user: NamedDependency[AuthUser], users: NamedDependency[UserService]
    ) -> UserRead:
        """The signed-in user's profile."""
        return to_user_read(await users.get(current_user.id))

    @put("", operation_id="UpdateCurrentUser", responses=problem_responses(400, 401, 409))
    async def update_current_user(
        self,
        data: JSONBody[UserUpdate],
        current_user: NamedDependency[AuthUser],
        users: NamedDependency[UserService],
    ) -> UserRead:
        """Replace the profile's editable fields (send every field)."""
        user = await users.update_profile(current_user.id, email=data.email, name=data.name)
        return to_user_read(user)

    @post(
        "/password",
        operation_id="ChangePassword",
        responses=problem_responses(400, 401),
        status_code=HTTP_204_NO_CONTENT,
    )
    async def change_password(
        self,
        data: JSONBody[PasswordChange],
        current_user: NamedDependency[AuthUser],
        users: NamedDependency[UserService],
        refresh_tokens: NamedDependency[RefreshTokenService],
        passwords: NamedDependency[Passwords],
    ) -> None:
        """Change the password; every refresh token is revoked, so other devices sign in again."""
        await users.change_password(
            current_user.id,
            current_password=data.current_password,
            new_password=data.new_password,
            passwords=passwords,
        )
        await refresh_tokens.revoke_all(current_user.id)
