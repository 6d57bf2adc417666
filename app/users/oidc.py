"""Sign in with Google: OpenID Connect's authorization-code flow with PKCE (S256), state and nonce.

1. `start` stores a flow row (digests of `state` and of a `flow_token` the browser keeps, the
   nonce and the PKCE verifier, a short expiry) and returns Google's authorization URL.
2. Google sends the browser to the frontend's redirect URI with `code` and `state`; the
   frontend posts them with its `flow_token` to `complete`. The flow is looked up by state,
   must match the flow token (so a link crafted by someone else cannot sign this browser in),
   and is used up at once, before Google is asked: a replayed state finds it spent. Expired
   flows are deleted by the `purge_expired_sign_ins` cron job (app/users/tasks.py).
3. The code is exchanged (with the verifier) at the token endpoint; the ID token is verified
   against the provider's JWKS (signature, issuer, audience, expiry, nonce) with `joserfc`.
4. The account: the one linked to this Google subject; else the one with the same email, only
   if Google says the email is verified; else a new account. An unverified email never links
   and never creates an account (that would squat the address).

Provider calls use httpx; an unreachable provider is a 503, an unusable answer a 502.
`joserfc` (by the authors of Authlib) is used for JOSE: it is typed, maintained, implements
RFC 7515-7519 strictly (no `none`, explicit algorithms), and we need no OAuth client framework
around it for one provider.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact
from sqlalchemy import func, select, true
from sqlalchemy.orm import InstrumentedAttribute

from app.config import SignInSettings
from app.db.rls import GOOGLE_SUBJECT_SETTING, LOOKUP_EMAIL_SETTING, TOKEN_DIGEST_SETTING
from app.db.tenancy import select_by_secret
from app.lib.crypto import new_token, token_digest
from app.lib.errors import (
    AuthenticationError,
    BadGatewayError,
    BadRequestError,
    ErrorCode,
    PermissionDeniedError,
    UpstreamUnavailableError,
)
from app.lib.schema import normalize_email
from app.users.models import OidcLoginFlow, User

if TYPE_CHECKING:
    import httpx

PROVIDER = "google"
GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")
"""Google's ID tokens carry either form of its issuer (its discovery document names the first)."""
METADATA_TTL_SECONDS = 3600.0
CLOCK_SKEW_SECONDS = 60
ID_TOKEN_ALGORITHMS = ["RS256", "ES256"]
UNUSABLE_PASSWORD = "!google-sign-in"
"""Not an argon2 hash, so no password matches it; a password reset can set a real one."""


def utcnow() -> datetime:
    return datetime.now(tz=UTC)


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class ProviderKeys:
    """The provider's discovery document and JWKS, cached (refetched when a key id is new)."""

    settings: SignInSettings
    _metadata: dict[str, Any] | None = None
    _metadata_at: float = 0.0
    _keys: KeySet | None = None
    _key_ids: set[str] = field(default_factory=set)

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None or time.monotonic() - self._metadata_at > METADATA_TTL_SECONDS:
            url = f"{self.settings.google_issuer}/.well-known/openid-configuration"
            document = await self._get_json(url, what="discovery document")
            for key in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(document.get(key), str):
                    raise BadGatewayError(f"Google's discovery document lacks {key!r}; try again later.")
            self._metadata, self._metadata_at = document, time.monotonic()
        return self._metadata

    async def key_set(self, key_id: str | None) -> KeySet:
        if self._keys is None or (key_id is not None and key_id not in self._key_ids):
            document = await self._get_json((await self.metadata())["jwks_uri"], what="signing keys")
            try:
                self._keys = KeySet.import_key_set(document)  # pyright: ignore[reportArgumentType]
            except (JoseError, ValueError, TypeError, KeyError):
                raise BadGatewayError("Google's signing keys could not be read; try again later.") from None
            self._key_ids = {str(key.kid) for key in self._keys.keys if key.kid}
        return self._keys

    async def exchange_code(self, *, code: str, verifier: str, redirect_uri: str) -> dict[str, Any]:
        endpoint = (await self.metadata())["token_endpoint"]
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        auth = (self.settings.google_client_id or "", self.settings.google_client_secret or "")
        response = await self._request("POST", endpoint, data=form, auth=auth)
        if response.status_code in (400, 401):
            raise AuthenticationError(
                f"Google refused the sign-in ({_oauth_error(response)}); start the sign-in again.",
                code=ErrorCode.SIGN_IN_FAILED,
            )
        return _json_object(response, what="token response")

    async def _get_json(self, url: str, *, what: str) -> dict[str, Any]:
        return _json_object(await self._request("GET", url), what=what)

    async def _request(self, method: str, url: str, **options: Any) -> httpx.Response:
        # Imported on the first sign-in with Google: most API workers never make one, and
        # httpx (with the click and rich its command line pulls in) is 3.5 MB of every worker.
        import httpx

        async with httpx.AsyncClient(
            timeout=self.settings.provider_timeout_seconds, follow_redirects=False
        ) as client:
            try:
                return await client.request(method, url, **options)
            except httpx.HTTPError as exc:
                raise _unreachable(exc) from None


def _unreachable(exc: Exception) -> UpstreamUnavailableError:
    return UpstreamUnavailableError(
        f"Google cannot be reached right now ({type(exc).__name__}); try again in a minute.",
        headers={"Retry-After": "30"},
    )


def _oauth_error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    return str(body.get("error", f"HTTP {response.status_code}")) if isinstance(body, dict) else "error"


def _json_object(response: httpx.Response, *, what: str) -> dict[str, Any]:
    if response.status_code != 200:
        raise BadGatewayError(f"Google answered HTTP {response.status_code} for its {what}; try again later.")
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise BadGatewayError(f"Google's {what} is not a JSON object; try again later.")
    return body


@dataclass(frozen=True, slots=True)
class GoogleIdentity:
    subject: str
    email: str | None
    email_verified: bool
    name: str | None


def _sign_in_failed(reason: str) -> AuthenticationError:
    return AuthenticationError(
        f"The sign-in with Google could not be verified ({reason}); start the sign-in again.",
        code=ErrorCode.SIGN_IN_FAILED,
    )


async def verify_id_token(keys: ProviderKeys, id_token: str, *, nonce: str) -> GoogleIdentity:
    """Signature against the JWKS; then issuer, audience (and `azp`), expiry and nonce."""
    settings = keys.settings
    try:
        header = extract_compact(id_token.encode()).protected  # the kid, unverified, picks the key
    except (JoseError, ValueError, TypeError):
        raise _sign_in_failed("the ID token is malformed") from None
    kid = header.get("kid")
    key_set = await keys.key_set(kid if isinstance(kid, str) else None)
    try:
        token = jwt.decode(id_token, key_set, algorithms=ID_TOKEN_ALGORITHMS)
    except (JoseError, ValueError, TypeError):
        raise _sign_in_failed("the ID token's signature does not match Google's keys") from None
    claims = token.claims
    issuers = {(await keys.metadata())["issuer"], settings.google_issuer}
    if settings.google_issuer == GOOGLE_ISSUERS[0]:
        issuers.update(GOOGLE_ISSUERS)
    registry = jwt.JWTClaimsRegistry(
        leeway=CLOCK_SKEW_SECONDS,
        iss={"essential": True, "values": sorted(issuers)},
        aud={"essential": True, "value": settings.google_client_id or ""},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise _sign_in_failed(f"{exc.error}: {exc.description}") from None
    audience = claims["aud"]
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != settings.google_client_id:
        raise _sign_in_failed("the ID token was issued to another party (azp)")
    email = claims.get("email")
    return GoogleIdentity(
        subject=str(claims["sub"]),
        email=normalize_email(email) if isinstance(email, str) else None,
        email_verified=claims.get("email_verified") is True,
        name=claims.get("name") if isinstance(claims.get("name"), str) else None,
    )


@dataclass(frozen=True, slots=True)
class StartedFlow:
    authorization_url: str
    flow_token: str


class GoogleSignInService(SQLAlchemyAsyncRepositoryService[OidcLoginFlow]):
    """Flows of "Sign in with Google" and the accounts they lead to."""

    class Repo(SQLAlchemyAsyncRepository[OidcLoginFlow]):
        model_type = OidcLoginFlow

        async def lock_by_state(self, state: str) -> OidcLoginFlow | None:
            """The flow shown by its `state` (`app.token_digest`, set by this statement), locked."""
            statement = select_by_secret(
                OidcLoginFlow,
                TOKEN_DIGEST_SETTING,
                token_digest(state),
                match=OidcLoginFlow.state_hash,
                where=[OidcLoginFlow.provider == PROVIDER],
                for_update=True,
            )
            return (await self.session.execute(statement)).scalar_one_or_none()

        async def name_flow(self, state: str) -> None:
            """Name the flow about to be written to row-level security, which admits only it.
            (Expired flows are deleted by `purge_expired_sign_ins`, on the system role.)"""
            await self.session.execute(
                select(func.set_config(TOKEN_DIGEST_SETTING, token_digest(state), True))
            )

        async def get_by_identity(
            self,
            column: InstrumentedAttribute[Any],
            setting: str,
            value: str,
            *,
            proves_account: bool = False,
        ) -> User | None:
            """The account a verified Google identity names (by subject or email), shown by it;
            `proves_account` (an address Google verified) also enters that user's context."""
            statement = select_by_secret(
                User,
                setting,
                value,
                match=column,
                enter_user_when=(lambda _found: true()) if proves_account else None,
                user_key="id",
            )
            return (await self.session.execute(statement)).scalar_one_or_none()

    repository_type = Repo

    async def start(self, keys: ProviderKeys, *, login_hint: str | None) -> StartedFlow:
        settings = keys.settings
        endpoint = (await keys.metadata())["authorization_endpoint"]
        state, flow_token, nonce, verifier = new_token(), new_token(), new_token(), new_token(48)
        now = utcnow()
        await self.repository.name_flow(state)
        await self.repository.add(
            OidcLoginFlow(
                provider=PROVIDER,
                state_hash=token_digest(state),
                flow_token_hash=token_digest(flow_token),
                nonce=nonce,
                code_verifier=verifier,
                redirect_uri=settings.google_redirect_uri,
                expires_at=now + settings.flow_ttl,
            )
        )
        query = {
            "response_type": "code",
            "client_id": settings.google_client_id,
            "redirect_uri": settings.google_redirect_uri,
            "scope": "openid email profile",
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce_challenge(verifier),
            "code_challenge_method": "S256",
            **({"login_hint": login_hint} if login_hint else {}),
        }
        separator = "&" if "?" in endpoint else "?"
        return StartedFlow(
            authorization_url=f"{endpoint}{separator}{urlencode(query)}", flow_token=flow_token
        )

    async def use_flow(self, *, state: str, flow_token: str) -> OidcLoginFlow:
        """The flow this callback belongs to, used up now (the caller commits before going on)."""
        flow = await self.repository.lock_by_state(state)
        if flow is None or not secrets.compare_digest(flow.flow_token_hash, token_digest(flow_token)):
            raise BadRequestError(
                "This sign-in was not started in this browser (unknown state or flow token); start again.",
                code=ErrorCode.SIGN_IN_FAILED,
            )
        if flow.used_at is not None:
            raise BadRequestError(
                "This sign-in was already completed or attempted; start again.", code=ErrorCode.SIGN_IN_FAILED
            )
        if flow.expires_at <= utcnow():
            raise BadRequestError(
                "This sign-in took too long and expired; start again.", code=ErrorCode.SIGN_IN_FAILED
            )
        flow.used_at = utcnow()
        await self.repository.session.flush()
        return flow

    async def account_for(self, identity: GoogleIdentity) -> tuple[User, bool]:
        """The user this Google identity signs in as, linked or created; (user, sessions ended).

        Linking to an account whose address we never verified drops its password and ends its
        sessions: whoever registered the address without proving it must not keep a way in.
        """
        session = self.repository.session
        linked = await self.repository.get_by_identity(
            User.google_subject, GOOGLE_SUBJECT_SETTING, identity.subject
        )
        if linked is not None:
            return linked, False
        if identity.email is None:
            raise _sign_in_failed("Google gave no email address (the `email` scope is needed)")
        existing = await self.repository.get_by_identity(
            User.email, LOOKUP_EMAIL_SETTING, identity.email, proves_account=identity.email_verified
        )
        if not identity.email_verified:
            action = "linked to the existing account" if existing else "used for a new account"
            raise PermissionDeniedError(
                f"Google has not verified the address {identity.email}, so it cannot be {action}; "
                "verify it with Google, or sign in with the password.",
                code=ErrorCode.EMAIL_NOT_VERIFIED,
            )
        if existing is None:
            user = User(
                email=identity.email,
                name=(identity.name or identity.email.split("@")[0]).strip()[:200] or identity.email,
                password_hash=UNUSABLE_PASSWORD,
                email_verified_at=utcnow(),
                google_subject=identity.subject,
            )
            session.add(user)
            await session.flush()
            return user, False
        if existing.google_subject is not None:
            raise PermissionDeniedError(
                "This account is linked to another Google account; sign in with that one or the password.",
                code=ErrorCode.SIGN_IN_FAILED,
            )
        existing.google_subject = identity.subject
        ended_sessions = existing.email_verified_at is None
        if ended_sessions:
            existing.password_hash = UNUSABLE_PASSWORD
            existing.email_verified_at = utcnow()
        await session.flush()
        return existing, ended_sessions
