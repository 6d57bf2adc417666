"""Two-factor sign-in with TOTP (RFC 6238, `pyotp`): enrolment, recovery codes, the challenge.

- Enrolment creates a pending secret; a first correct code confirms it and returns recovery
  codes (shown once, stored as SHA-256 digests, each single use). Until confirmed, sign-in
  does not ask for it, so an abandoned enrolment never locks anyone out.
- A sign-in whose first factor succeeded (password, or Google) on an account with a confirmed
  secret gets a 401 `mfa_required` with a short-lived signed challenge instead of tokens;
  `LoginSecondFactor` trades the challenge plus a code (or a recovery code) for the pair.
- A code is accepted once: the credential keeps the time step of the last accepted code, and
  a code from the same or an earlier step is refused (RFC 6238 §5.2).
- A challenge is accepted once too: each is a row (its id is the token's `jti`) that the
  successful `LoginSecondFactor` deletes in one statement; a second use finds nothing (401).
- Secrets are stored sealed (AES-256-GCM, bound to their user, with the key's id; see
  app/lib/encryption.py and `DATA_ENCRYPTION_KEYS`); one sealed by an older key is re-sealed
  with the newest when it is next used.
- The tables have row-level policies on `app.user_id`; sign-in sets that context only after
  the first factor is proven.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Literal
from uuid import UUID

import pyotp
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from litestar.di import NamedDependency
from pyotp.totp import TOTP
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.tenancy import TenantContext, apply_tenant_now
from app.lib.crypto import Passwords, token_digest
from app.lib.encryption import FORMAT_VERSION, DataCipher, UnreadableSecretError, cipher_for
from app.lib.errors import AuthenticationError, BadRequestError, ConflictError, ErrorCode
from app.users.models import MfaChallenge, RecoveryCode, TotpCredential, User

logger = logging.getLogger(__name__)

DRIFT_STEPS = 1
"""Codes of the previous and the next 30-second step are accepted too (clock drift)."""
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud and typed

CHALLENGE_ISSUER = "campaign-platform/mfa-challenge"
"""Never the access tokens' issuer: a challenge cannot be used as a bearer token, nor the reverse."""

SecondFactorMethod = Literal["password", "google"]


def utcnow() -> datetime:
    return datetime.now(tz=UTC)


def new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(16))  # ≈79 bits
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def recovery_code_digest(code: str) -> str:
    return token_digest("".join(code.lower().split()).replace("-", ""))


def matching_step(secret: str, code: str, *, at: datetime) -> int | None:
    """The time step whose code is `code` (within the drift window), or None."""
    totp = TOTP(secret)
    code = "".join(code.split())
    current = totp.timecode(at)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        # Bytes: `\d` admits non-ASCII digits, which `compare_digest` refuses in str.
        if hmac.compare_digest(totp.generate_otp(step).encode(), code.encode()):
            return step
    return None


async def enter_user_context(session: AsyncSession, user_id: UUID) -> None:
    """The first factor is proven: the user's own rows (their second factor) become visible."""
    await apply_tenant_now(session, TenantContext(user_id=user_id))


def secret_context(user_id: UUID) -> str:
    """What a sealed TOTP secret is bound to: copied to another user's row, it does not open."""
    return f"totp-secret:{user_id}"


class TwoFactorService(SQLAlchemyAsyncRepositoryService[TotpCredential]):
    """A user's authenticator and recovery codes (the caller's context must be that user)."""

    class Repo(SQLAlchemyAsyncRepository[TotpCredential]):
        model_type = TotpCredential

        async def lock_of_user(self, user_id: UUID) -> TotpCredential | None:
            statement = select(TotpCredential).where(TotpCredential.user_id == user_id).with_for_update()
            return (await self.session.execute(statement)).scalar_one_or_none()

        async def is_confirmed(self, user_id: UUID) -> bool:
            statement = select(TotpCredential.id).where(
                TotpCredential.user_id == user_id, TotpCredential.confirmed_at.is_not(None)
            )
            return (await self.session.execute(statement)).first() is not None

        async def recovery_codes_left(self, user_id: UUID) -> int:
            statement = select(func.count()).where(
                RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
            )
            return int((await self.session.execute(statement)).scalar_one())

        async def use_recovery_code(self, user_id: UUID, digest: str, *, at: datetime) -> bool:
            statement = (
                update(RecoveryCode)
                .where(
                    RecoveryCode.user_id == user_id,
                    RecoveryCode.code_hash == digest,
                    RecoveryCode.used_at.is_(None),
                )
                .values(used_at=at)
                .returning(RecoveryCode.id)
            )
            return (await self.session.execute(statement)).first() is not None

        async def replace_recovery_codes(self, user_id: UUID, digests: list[str]) -> None:
            await self.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
            self.session.add_all([RecoveryCode(user_id=user_id, code_hash=digest) for digest in digests])
            await self.session.flush()

        async def lock_sealed_by_other_keys(
            self, current_prefix: str, *, after: UUID | None, limit: int
        ) -> list[TotpCredential]:
            """A page (by id) of credentials whose secret the newest key did not seal."""
            statement = (
                select(TotpCredential)
                .where(TotpCredential.secret.not_like(current_prefix.replace("_", r"\_") + "%"))
                .order_by(TotpCredential.id)
                .limit(limit)
                .with_for_update(skip_locked=True)  # one being used for a sign-in re-seals itself
            )
            if after is not None:
                statement = statement.where(TotpCredential.id > after)
            return list((await self.session.execute(statement)).scalars())

        async def remove_all(self, user_id: UUID) -> None:
            await self.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
            await self.session.execute(delete(TotpCredential).where(TotpCredential.user_id == user_id))

    repository_type = Repo

    def __init__(self, *, session: AsyncSession, cipher: DataCipher) -> None:
        super().__init__(session=session)
        self.cipher = cipher

    async def status(self, user_id: UUID) -> tuple[bool, bool, int]:
        """(enabled, pending, recovery codes left)."""
        credential = await self.repository.get_one_or_none(user_id=user_id)
        enabled = credential is not None and credential.confirmed_at is not None
        pending = credential is not None and credential.confirmed_at is None
        return enabled, pending, await self.repository.recovery_codes_left(user_id)

    async def is_enabled(self, user_id: UUID) -> bool:
        return await self.repository.is_confirmed(user_id)

    async def enrol(self, user: User, *, issuer: str) -> tuple[str, str]:
        """A new pending secret (replacing an earlier pending one): (secret, otpauth URI)."""
        credential = await self.repository.lock_of_user(user.id)
        if credential is not None and credential.confirmed_at is not None:
            raise ConflictError(
                "Two-factor sign-in is already on; turn it off first to enrol another authenticator."
            )
        secret = pyotp.random_base32()
        sealed = self.cipher.seal(secret, context=secret_context(user.id))
        if credential is None:
            await self.repository.add(TotpCredential(user_id=user.id, secret=sealed))
        else:
            credential.secret, credential.last_used_step = sealed, None
            await self.repository.session.flush()
        uri = TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)
        return secret, uri

    async def confirm(self, user_id: UUID, code: str) -> list[str]:
        """Turn two-factor on with a first correct code; returns the recovery codes (once)."""
        credential = await self.repository.lock_of_user(user_id)
        if credential is None:
            raise ConflictError("No authenticator is being enrolled; start with EnrolTotp.")
        if credential.confirmed_at is not None:
            raise ConflictError("Two-factor sign-in is already on.")
        step = matching_step(self._secret_of(credential), code, at=utcnow())
        if step is None:
            raise BadRequestError(
                "The code does not match; check the authenticator app's clock and enter the current code.",
                code=ErrorCode.INVALID_MFA_CODE,
            )
        credential.confirmed_at, credential.last_used_step = utcnow(), step
        return await self._new_recovery_codes(user_id)

    def _secret_of(self, credential: TotpCredential) -> str:
        """The plain secret; one sealed by an older key is re-sealed with the newest (rotation)."""
        context = secret_context(credential.user_id)
        try:
            secret = self.cipher.open(credential.secret, context=context)
        except UnreadableSecretError as exc:
            # Altered, moved from another user, or its key left DATA_ENCRYPTION_KEYS: never
            # guess, never fall back to reading it as plain text.
            logger.error("TOTP secret of user %s is unreadable: %s", credential.user_id, exc)
            raise SecondFactorUnavailableError(
                "This account's authenticator secret cannot be read on this server; sign in with a "
                "recovery code, or ask an administrator (the data encryption keys may be misconfigured).",
            ) from exc
        if not self.cipher.is_current(credential.secret):
            credential.secret = self.cipher.seal(secret, context=context)
        return secret

    async def reseal_all(self, *, batch: int = 500) -> tuple[int, int]:
        """Re-seal every secret an older key sealed with the newest: (re-sealed, unreadable).

        For the rotation job on the system role (it sees every user's row); an unreadable
        secret is logged and left as it is.
        """
        resealed = unreadable = 0
        last: UUID | None = None
        while True:
            page = await self.repository.lock_sealed_by_other_keys(
                f"{FORMAT_VERSION}.{self.cipher.current_key_id}.", after=last, limit=batch
            )
            for credential in page:
                try:
                    self._secret_of(credential)
                    resealed += 1
                except SecondFactorUnavailableError:
                    unreadable += 1
            await self.repository.session.flush()
            if len(page) < batch:
                return resealed, unreadable
            last = page[-1].id

    async def _new_recovery_codes(self, user_id: UUID) -> list[str]:
        codes = [new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
        await self.repository.replace_recovery_codes(user_id, [recovery_code_digest(c) for c in codes])
        return codes

    async def verify(self, user_id: UUID, *, code: str | None, recovery_code: str | None) -> bool:
        """Check one second factor and use it up (a code's step, or the recovery code)."""
        credential = await self.repository.lock_of_user(user_id)
        if credential is None or credential.confirmed_at is None:
            return False
        if code is not None:
            step = matching_step(self._secret_of(credential), code, at=utcnow())
            if step is None or (credential.last_used_step is not None and step <= credential.last_used_step):
                return False
            credential.last_used_step = step
            await self.repository.session.flush()
            return True
        if recovery_code is not None:
            return await self.repository.use_recovery_code(
                user_id, recovery_code_digest(recovery_code), at=utcnow()
            )
        return False

    async def regenerate_recovery_codes(self, user_id: UUID, *, code: str) -> list[str]:
        """New recovery codes for a current code; the earlier ones stop working."""
        if not await self.repository.is_confirmed(user_id):
            raise ConflictError("Two-factor sign-in is not on.")
        if not await self.verify(user_id, code=code, recovery_code=None):
            raise AuthenticationError(
                "The code is not correct (or was already used); enter the authenticator's current code.",
                code=ErrorCode.INVALID_MFA_CODE,
            )
        return await self._new_recovery_codes(user_id)

    async def disable(
        self,
        user: User,
        *,
        code: str | None,
        recovery_code: str | None,
        password: str | None,
        passwords: Passwords,
    ) -> None:
        if not await self.repository.is_confirmed(user.id):
            raise ConflictError("Two-factor sign-in is not on.")
        if code is None and recovery_code is None and password is None:
            raise BadRequestError(
                "Give a current code, a recovery code or the password to turn two-factor off."
            )
        proven = (password is not None and passwords.verify(user.password_hash, password)) or (
            await self.verify(user.id, code=code, recovery_code=recovery_code)
        )
        if not proven:
            raise AuthenticationError(
                "The code, recovery code or password is not correct.", code=ErrorCode.INVALID_MFA_CODE
            )
        await self.repository.remove_all(user.id)


class MfaRequiredError(AuthenticationError):
    """The first factor was right; the account asks for a second one."""

    code = ErrorCode.MFA_REQUIRED


class SecondFactorUnavailableError(AuthenticationError):
    """The stored secret does not open (altered, or its key is gone): no code can be checked."""

    code = ErrorCode.INVALID_MFA_CODE


def _challenge_refused() -> AuthenticationError:
    return AuthenticationError(
        "The sign-in challenge is invalid, expired or already used; sign in again.",
        code=ErrorCode.SIGN_IN_FAILED,
    )


class MfaChallenges(SQLAlchemyAsyncRepositoryService[MfaChallenge]):
    """Single-use, short-lived signed challenges (HS256, the app's secret, their own issuer).

    The signature lets a forged or expired token be refused before the database is asked; the
    row (the token's `jti`) makes a genuine one work once. The caller's context is the user.
    """

    class Repo(SQLAlchemyAsyncRepository[MfaChallenge]):
        model_type = MfaChallenge

        async def consume(self, challenge_id: UUID, *, user_id: UUID, at: datetime) -> bool:
            """Delete the unexpired challenge; True for the one caller whose statement removed it."""
            statement = (
                delete(MfaChallenge)
                .where(
                    MfaChallenge.id == challenge_id,
                    MfaChallenge.user_id == user_id,
                    MfaChallenge.expires_at > at,
                )
                .returning(MfaChallenge.id)
            )
            return (await self.session.execute(statement)).first() is not None

    repository_type = Repo

    def __init__(self, *, session: AsyncSession, secret_key: str, ttl: timedelta) -> None:
        super().__init__(session=session)
        self._key = OctKey.import_key(secret_key)
        self.ttl = ttl

    async def required(self, user: User, *, first_factor: SecondFactorMethod) -> MfaRequiredError:
        """Record a new challenge for `user` and return the 401 that carries its token."""
        issued = utcnow()
        challenge = await self.repository.add(
            MfaChallenge(user_id=user.id, expires_at=issued + self.ttl), auto_refresh=False
        )
        now = int(issued.timestamp())
        claims = {
            "iss": CHALLENGE_ISSUER,
            "sub": str(user.id),
            "sep": user.session_epoch,
            "amr": [first_factor],
            "iat": now,
            "exp": now + int(self.ttl.total_seconds()),
            "jti": str(challenge.id),
        }
        token = jwt.encode({"alg": "HS256"}, claims, self._key)
        return MfaRequiredError(
            "This account uses two-factor sign-in: send the challenge_token with a code from the "
            "authenticator app (or a recovery code) to LoginSecondFactor.",
            extra={"challenge_token": token, "challenge_expires_in": int(self.ttl.total_seconds())},
        )

    def verify(self, token: str) -> tuple[UUID, int, UUID]:
        """(user id, session epoch, challenge id) of a genuine, unexpired challenge token."""
        registry = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": CHALLENGE_ISSUER},
            sub={"essential": True},
            exp={"essential": True},
            jti={"essential": True},
        )
        try:
            claims = jwt.decode(token, self._key, algorithms=["HS256"]).claims
            registry.validate(claims)
            return UUID(claims["sub"]), int(claims.get("sep", 0)), UUID(claims["jti"])
        except (JoseError, ValueError, TypeError, KeyError):
            raise _challenge_refused() from None

    async def consume(self, challenge_id: UUID, *, user_id: UUID) -> None:
        """Use the challenge up (in the transaction that signs in); 401 if it was used already."""
        if not await self.repository.consume(challenge_id, user_id=user_id, at=utcnow()):
            raise _challenge_refused()


def provide_two_factor(
    db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]
) -> TwoFactorService:
    return TwoFactorService(session=db_session, cipher=cipher_for(settings.auth.data_encryption_keys))


def provide_challenges(
    db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]
) -> MfaChallenges:
    return MfaChallenges(
        session=db_session, secret_key=settings.auth.secret_key, ttl=settings.sign_in.mfa_challenge_ttl
    )
