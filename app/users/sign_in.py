"""Routes of "Sign in with Google", the second sign-in step and the caller's two-factor settings."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.openapi import ResponseSpec
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.lib.auth import AccessTokens, AuthUser
from app.lib.crypto import Passwords
from app.lib.errors import (
    PROBLEM_JSON,
    AuthenticationError,
    BadGatewayError,
    BadRequestError,
    ErrorCode,
    ProblemDetails,
    ResourceNotFoundError,
    problem_responses,
)
from app.users.controllers import provide_refresh_tokens, provide_users
from app.users.mfa import (
    MfaChallenges,
    TwoFactorService,
    enter_user_context,
    provide_challenges,
    provide_two_factor,
)
from app.users.oidc import GoogleSignInService, ProviderKeys, verify_id_token
from app.users.schemas import (
    GoogleAuthorization,
    GoogleCallback,
    GoogleSignInStart,
    RecoveryCodes,
    SecondFactorLogin,
    TokenPair,
    TotpConfirmation,
    TotpEnrolment,
    TwoFactorDisable,
    TwoFactorStatus,
)
from app.users.services import LoginFailureService, LoginThrottle, RefreshTokenService, UserService

GOOGLE_KEYS_STATE = "google_provider_keys"


def require_google(settings: Settings) -> None:
    """404 when not configured; called after the body is read, so a bad body is still a 400."""
    if not settings.sign_in.google_enabled:
        raise ResourceNotFoundError(
            "Sign in with Google is not configured on this server (GOOGLE_OAUTH2_CLIENT_ID is unset)."
        )


def provide_google_keys(state: State, settings: NamedDependency[Settings]) -> ProviderKeys:
    """The provider's cached discovery document and keys (one per app)."""
    keys = state.get(GOOGLE_KEYS_STATE)
    if not isinstance(keys, ProviderKeys):
        keys = ProviderKeys(settings=settings.sign_in)
        state[GOOGLE_KEYS_STATE] = keys
    return keys


def provide_google_sign_in(db_session: NamedDependency[AsyncSession]) -> GoogleSignInService:
    return GoogleSignInService(session=db_session)


_EMAIL_NOT_VERIFIED = ResponseSpec(
    data_container=ProblemDetails,
    description="`email_not_verified`: Google has not verified the address, so it neither links to an "
    "account nor creates one; or the account is linked to another Google account.",
    media_type=PROBLEM_JSON,
    generate_examples=False,
)
_MFA_REQUIRED = ResponseSpec(
    data_container=ProblemDetails,
    description="`mfa_required`: the account uses two-factor sign-in; `challenge_token` goes to "
    "`LoginSecondFactor` with a code. Otherwise `sign_in_failed` (the code, ID token or challenge "
    "was refused) or `invalid_mfa_code`.",
    media_type=PROBLEM_JSON,
    generate_examples=False,
)
_NOT_CONFIGURED = ResponseSpec(
    data_container=ProblemDetails,
    description="Sign in with Google is not configured on this server.",
    media_type=PROBLEM_JSON,
    generate_examples=False,
)
_PROVIDER_DOWN = ResponseSpec(
    data_container=ProblemDetails,
    description="`identity_provider_unavailable`: Google cannot be reached (retry after Retry-After), "
    "or the database is briefly unreachable.",
    media_type=PROBLEM_JSON,
    generate_examples=False,
)


class GoogleSignInController(Controller):
    """Sign in with Google (OpenID Connect, authorization code with PKCE). See app/users/oidc.py."""

    path = "/api/auth/oidc/google"
    tags = ["Auth"]
    dependencies = {
        "google_keys": Provide(provide_google_keys, sync_to_thread=False),
        "google_sign_in": Provide(provide_google_sign_in, sync_to_thread=False),
        "two_factor": Provide(provide_two_factor, sync_to_thread=False),
        "challenges": Provide(provide_challenges, sync_to_thread=False),
        "refresh_tokens": Provide(provide_refresh_tokens, sync_to_thread=False),
    }

    @post(
        "/start",
        operation_id="StartGoogleSignIn",
        summary="Start signing in with Google",
        responses={**problem_responses(400, 502), 404: _NOT_CONFIGURED, 503: _PROVIDER_DOWN},
        status_code=HTTP_200_OK,
        exclude_from_auth=True,
        security=[{}],  # public: no token needed
    )
    async def start(
        self,
        data: JSONBody[GoogleSignInStart],
        google_keys: NamedDependency[ProviderKeys],
        google_sign_in: NamedDependency[GoogleSignInService],
        settings: NamedDependency[Settings],
    ) -> GoogleAuthorization:
        """Returns Google's authorization URL (state, nonce and an S256 PKCE challenge in it) and a
        `flow_token`. Send the browser to the URL and keep the flow token in this browser (e.g.
        sessionStorage). Google redirects to `GOOGLE_OAUTH2_REDIRECT_URI` (a frontend page) with
        `code` and `state`; post those with the flow token to `CompleteGoogleSignIn`. The sign-in
        must complete within `GOOGLE_OAUTH2_FLOW_TTL_SECONDS`, once."""
        require_google(settings)
        started = await google_sign_in.start(google_keys, login_hint=data.login_hint)
        return GoogleAuthorization(
            authorization_url=started.authorization_url,
            flow_token=started.flow_token,
            expires_in=int(settings.sign_in.flow_ttl.total_seconds()),
        )

    @post(
        "/callback",
        operation_id="CompleteGoogleSignIn",
        summary="Complete signing in with Google",
        responses={
            **problem_responses(400, 409, 502),
            401: _MFA_REQUIRED,
            403: _EMAIL_NOT_VERIFIED,
            404: _NOT_CONFIGURED,
            503: _PROVIDER_DOWN,
        },
        status_code=HTTP_200_OK,
        exclude_from_auth=True,
        security=[{}],  # public: no token needed
    )
    async def callback(
        self,
        data: JSONBody[GoogleCallback],
        db_session: NamedDependency[AsyncSession],
        google_keys: NamedDependency[ProviderKeys],
        google_sign_in: NamedDependency[GoogleSignInService],
        two_factor: NamedDependency[TwoFactorService],
        challenges: NamedDependency[MfaChallenges],
        refresh_tokens: NamedDependency[RefreshTokenService],
        access_tokens: NamedDependency[AccessTokens],
        settings: NamedDependency[Settings],
    ) -> TokenPair:
        """Exchanges Google's `code` (with the PKCE verifier), verifies the ID token against
        Google's keys (signature, issuer, audience, expiry, nonce) and signs in: the account
        linked to this Google account, else the one with the same address if Google verified
        it, else a new account. Returns our usual token pair, or 401 `mfa_required` (with a
        `challenge_token`) when the account uses two-factor sign-in.

        Linking to an account whose address was never verified here drops that account's
        password and ends its sessions (whoever registered it had not proven the address)."""
        require_google(settings)
        flow = await google_sign_in.use_flow(state=data.state, flow_token=data.flow_token)
        await db_session.commit()  # spent now: a replay fails even if the rest below does
        answer = await google_keys.exchange_code(
            code=data.code, verifier=flow.code_verifier, redirect_uri=flow.redirect_uri
        )
        id_token = answer.get("id_token")
        if not isinstance(id_token, str):
            raise BadGatewayError("Google's token response has no ID token; try again later.")
        identity = await verify_id_token(google_keys, id_token, nonce=flow.nonce)
        user, sessions_ended = await google_sign_in.account_for(identity)
        if not user.is_active:
            raise AuthenticationError("The account is no longer active.")
        await enter_user_context(db_session, user.id)  # before revoke_all: its rows are the user's own
        if sessions_ended:
            await refresh_tokens.revoke_all(user.id)
            await db_session.refresh(user, ["session_epoch"])
        if await two_factor.is_enabled(user.id):
            required = await challenges.required(user, first_factor="google")
            await db_session.commit()  # a new or newly linked account stays, awaiting the code
            raise required
        return await refresh_tokens.issue(user, access_tokens=access_tokens, settings=settings.auth)


class SecondFactorController(Controller):
    path = "/api/auth"
    tags = ["Auth"]
    dependencies = {
        "two_factor": Provide(provide_two_factor, sync_to_thread=False),
        "challenges": Provide(provide_challenges, sync_to_thread=False),
        "refresh_tokens": Provide(provide_refresh_tokens, sync_to_thread=False),
        "users": Provide(provide_users, sync_to_thread=False),
    }

    @post(
        "/login/second-factor",
        operation_id="LoginSecondFactor",
        summary="Finish signing in with a second factor",
        responses={**problem_responses(400, 429), 401: _MFA_REQUIRED},
        status_code=HTTP_200_OK,
        exclude_from_auth=True,
        security=[{}],  # public: no token needed
    )
    async def login_second_factor(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[SecondFactorLogin],
        db_session: NamedDependency[AsyncSession],
        users: NamedDependency[UserService],
        two_factor: NamedDependency[TwoFactorService],
        challenges: NamedDependency[MfaChallenges],
        refresh_tokens: NamedDependency[RefreshTokenService],
        access_tokens: NamedDependency[AccessTokens],
        settings: NamedDependency[Settings],
    ) -> TokenPair:
        """Trade the `challenge_token` of a 401 `mfa_required` (from `Login` or
        `CompleteGoogleSignIn`) and the authenticator's current `code` — or one unused
        `recovery_code` — for the token pair. Each code works once, and so does each challenge:
        after a successful use the same `challenge_token` gets 401 `sign_in_failed` (a wrong code
        leaves it usable until it expires). Wrong codes count as failed logins of the account
        (429 with Retry-After past the limit)."""
        if (data.code is None) == (data.recovery_code is None):
            raise BadRequestError("Give either code or recovery_code (exactly one).")
        user_id, epoch, challenge_id = challenges.verify(data.challenge_token)
        user = await users.repository.get_proven(user_id)
        if user is None or not user.is_active or user.session_epoch != epoch:
            raise AuthenticationError(
                "The sign-in challenge no longer applies to this account; sign in again.",
                code=ErrorCode.SIGN_IN_FAILED,
            )
        failures = LoginFailureService(session=db_session)
        throttle = LoginThrottle(
            max_per_account=settings.auth.login_max_failures_per_account,
            max_per_address=settings.auth.login_max_failures_per_address,
            window=settings.auth.login_failure_window,
        )
        address = request.client.host if request.client else "unknown"
        attempt = await failures.reserve_attempt(email=user.email, address=address, throttle=throttle)
        await enter_user_context(db_session, user.id)
        if not await two_factor.verify(user.id, code=data.code, recovery_code=data.recovery_code):
            raise AuthenticationError(
                "The code is not correct (or was already used); enter the authenticator's current code.",
                code=ErrorCode.INVALID_MFA_CODE,
            )
        # After the code (whose check locks the user's credential, so parallel completions queue
        # here): one DELETE ... RETURNING decides which of them gets the tokens.
        await challenges.consume(challenge_id, user_id=user.id)
        await failures.release(attempt)
        return await refresh_tokens.issue(user, access_tokens=access_tokens, settings=settings.auth)


class TwoFactorController(Controller):
    """The caller's own two-factor settings (TOTP authenticator and recovery codes)."""

    path = "/api/me/two-factor"
    tags = ["Users"]
    dependencies = {
        "two_factor": Provide(provide_two_factor, sync_to_thread=False),
        "users": Provide(provide_users, sync_to_thread=False),
    }

    @get(
        "",
        operation_id="GetTwoFactorStatus",
        summary="Two-factor sign-in status",
        responses=problem_responses(401),
    )
    async def status(
        self, current_user: NamedDependency[AuthUser], two_factor: NamedDependency[TwoFactorService]
    ) -> TwoFactorStatus:
        """Whether an authenticator is confirmed (sign-in asks for codes) or pending, and how
        many recovery codes are left unused."""
        enabled, pending, left = await two_factor.status(current_user.id)
        return TwoFactorStatus(totp_enabled=enabled, totp_pending=pending, recovery_codes_left=left)

    @post(
        "/totp",
        operation_id="EnrolTotp",
        summary="Enrol an authenticator app",
        responses=problem_responses(401, 409),
        status_code=HTTP_201_CREATED,
    )
    async def enrol(
        self,
        current_user: NamedDependency[AuthUser],
        users: NamedDependency[UserService],
        two_factor: NamedDependency[TwoFactorService],
        settings: NamedDependency[Settings],
    ) -> TotpEnrolment:
        """Creates a pending TOTP secret (RFC 6238: 6 digits, 30 s) and its `otpauth://` URI to
        show as a QR code; an earlier pending one is replaced. Nothing changes at sign-in until
        `ConfirmTotp` accepts a first code. 409 when two-factor is already on."""
        user = await users.get(current_user.id)
        secret, uri = await two_factor.enrol(user, issuer=settings.sign_in.totp_issuer)
        return TotpEnrolment(secret=secret, otpauth_uri=uri)

    @post(
        "/totp/confirm",
        operation_id="ConfirmTotp",
        summary="Turn two-factor sign-in on",
        responses=problem_responses(400, 401, 409),
        status_code=HTTP_200_OK,
    )
    async def confirm(
        self,
        data: JSONBody[TotpConfirmation],
        current_user: NamedDependency[AuthUser],
        two_factor: NamedDependency[TwoFactorService],
    ) -> RecoveryCodes:
        """Confirms the pending authenticator with its current code: from now on every sign-in
        (password or Google) asks for a code. Returns 10 single-use recovery codes, shown only
        now (only their digests are kept). 400 `invalid_mfa_code` for a wrong code; 409 when
        nothing is pending."""
        return RecoveryCodes(recovery_codes=await two_factor.confirm(current_user.id, data.code))

    @post(
        "/recovery-codes",
        operation_id="RegenerateRecoveryCodes",
        summary="Replace the recovery codes",
        responses=problem_responses(400, 401, 409),
        status_code=HTTP_200_OK,
    )
    async def regenerate_recovery_codes(
        self,
        data: JSONBody[TotpConfirmation],
        current_user: NamedDependency[AuthUser],
        two_factor: NamedDependency[TwoFactorService],
    ) -> RecoveryCodes:
        """Returns 10 new single-use recovery codes for a current authenticator `code` (shown only
        now); every earlier recovery code stops working. 401 `invalid_mfa_code` for a wrong or
        already used code; 409 when two-factor is not on."""
        codes = await two_factor.regenerate_recovery_codes(current_user.id, code=data.code)
        return RecoveryCodes(recovery_codes=codes)

    @post(
        "/disable",
        operation_id="DisableTwoFactor",
        summary="Turn two-factor sign-in off",
        responses=problem_responses(400, 401, 409),
        status_code=HTTP_204_NO_CONTENT,
    )
    async def disable(
        self,
        data: JSONBody[TwoFactorDisable],
        current_user: NamedDependency[AuthUser],
        users: NamedDependency[UserService],
        two_factor: NamedDependency[TwoFactorService],
        passwords: NamedDependency[Passwords],
    ) -> None:
        """Removes the authenticator and every recovery code. Needs proof: a current `code`, a
        `recovery_code` or the account's `password` (401 `invalid_mfa_code` when wrong); 409 when
        two-factor is not on."""
        user = await users.get(current_user.id)
        await two_factor.disable(
            user,
            code=data.code,
            recovery_code=data.recovery_code,
            password=data.password,
            passwords=passwords,
        )
