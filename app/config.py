"""Settings read from the environment, validated once per `get_config()` call.

Nothing is cached at import time: `create_app()` reads the environment it is given, so tests
build apps with their own settings instead of monkeypatching module globals.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from datetime import timedelta
from ipaddress import ip_network
from pathlib import Path
from typing import Literal

import msgspec
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

Environment = Literal["dev", "test", "production"]

DEV_SECRET_KEY = "dev-only-secret-key-do-not-use-in-production-0123456789"
PUBLISHED_SECRET_KEYS = frozenset(
    {
        DEV_SECRET_KEY,
        # Once the default of docker-compose.yml; anyone who read the repository knows it.
        "change-me-to-a-long-random-secret-in-production",
    }
)
"""Keys that are public (they are, or were, in this repository): production refuses them.
`tests/test_config.py` scans the repository for any other and fails until it is listed here."""
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


class DatabaseSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Where PostgreSQL is and which roles we use on it.

    `owner_url` runs migrations and owns the tables. `app_url` is the same server and database
    reached as the unprivileged application role, which is what every request and job uses.
    """

    owner_url: URL | None
    app_user: str
    app_password: str | None
    system_user: str
    system_password: str | None
    embedded_data_dir: Path
    pool_size: int
    echo: bool
    pooler: Literal["none", "transaction"] = "none"
    """`transaction`: the application role's engines reach PostgreSQL through a transaction-mode
    pooler (PgBouncer) at `pooler_url`, so they keep no prepared statements on a server connection."""
    pooler_url: URL | None = None
    """The pooler's host, port and database; the application role's credentials are used with it.
    Everything else stays on `owner_url`'s server directly: migrations, the system role, the
    realtime `LISTEN` and SAQ's queue (session-level connections a transaction pooler cannot keep)."""

    @property
    def is_embedded(self) -> bool:
        return self.owner_url is None

    def engine_url_from(self, owner_url: URL) -> URL:
        """Where the application role's request and job engines connect: the pooler, if any."""
        if self.pooler_url is None:
            return self.app_url_from(owner_url)
        return self.pooler_url.set(username=self.app_user, password=self.app_password)

    def app_url_from(self, owner_url: URL) -> URL:
        return owner_url.set(username=self.app_user, password=self.app_password)

    def system_url_from(self, owner_url: URL) -> URL:
        """The privileged path for the few named system jobs that cross teams (BYPASSRLS)."""
        return owner_url.set(username=self.system_user, password=self.system_password)


class AuthSettings(msgspec.Struct, frozen=True, kw_only=True):
    secret_key: str
    access_token_ttl: timedelta
    refresh_token_ttl: timedelta
    login_max_failures_per_account: int
    login_max_failures_per_address: int
    login_failure_window: timedelta
    argon2_time_cost: int
    argon2_memory_kib: int
    data_encryption_keys: tuple[tuple[str, str], ...]
    """(key id, key material) pairs for secrets at rest (`DATA_ENCRYPTION_KEYS`): the first
    encrypts, every one decrypts, so a key rotates by putting a new one first. Unset: one key,
    id `sk`, derived from `SECRET_KEY` (see app/lib/encryption.py)."""


class MailSettings(msgspec.Struct, frozen=True, kw_only=True):
    smtp_host: str | None
    """Unset: mails are kept in the outbox table only (see `make mail-outbox`)."""
    smtp_port: int
    smtp_user: str | None
    smtp_password: str | None
    smtp_tls: Literal["none", "starttls", "tls"]
    mail_from: str
    app_base_url: str
    """Where the frontend lives; links in emails point there."""


class QueueSettings(msgspec.Struct, frozen=True, kw_only=True):
    concurrency: int
    sweep_seconds: int
    shutdown_grace_seconds: int
    purge_cron: str
    digest_cron: str
    """When the notification digest runs (each user still gets at most one per hour or day)."""
    heartbeat_file: Path
    """A running worker touches it every few seconds; `python -m app.cli worker-alive` checks its age."""


class MediaSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Where uploaded files live and what they may be (see app/media and the README's Media section)."""

    backend: Literal["local", "s3"]
    local_root: Path
    """Local storage: the folder files are kept in."""
    public_base_url: str
    """Local storage: the API's own address, for the signed upload and download URLs it hands out."""
    s3_bucket: str | None
    s3_endpoint_url: str | None
    s3_region: str | None
    max_post_media_bytes: int
    max_image_bytes: int
    """Brand logos and creator avatars."""
    max_media_kit_bytes: int
    team_quota_bytes: int
    upload_ttl_seconds: int
    download_ttl_seconds: int
    sweep_cron: str
    processing_delay_seconds: float
    """Tests and demos only: hold each processing job this long first (0 in production)."""


class SignInSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Sign in with Google (OpenID Connect) and TOTP two-factor (see app/users/oidc.py, mfa.py)."""

    google_client_id: str | None
    """Unset: the Google sign-in routes answer 404 (the feature is off)."""
    google_client_secret: str | None
    google_issuer: str
    """The OpenID issuer; its `/.well-known/openid-configuration` names every endpoint."""
    google_redirect_uri: str
    """Where Google sends the browser back: the frontend page that posts code and state to us."""
    flow_ttl: timedelta
    """How long a started sign-in (state, nonce, PKCE verifier) may take to come back."""
    provider_timeout_seconds: float
    totp_issuer: str
    """The name authenticator apps show next to the account."""
    mfa_challenge_ttl: timedelta
    """How long the challenge from a password (or Google) sign-in waits for the second factor."""

    @property
    def google_enabled(self) -> bool:
        return self.google_client_id is not None


class EdgeSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Browsers, proxies and operators' probes (see the README's Production section)."""

    cors_origins: tuple[str, ...]
    """Origins whose browsers may call the API; empty: no CORS headers at all."""
    cors_allow_credentials: bool
    trusted_proxies: tuple[str, ...]
    """CIDRs of peers whose X-Forwarded-For/-Proto are believed; empty: the socket peer is the client."""
    metrics_token: str | None
    """Bearer token for /metrics; required outside development (without it /metrics is not served)."""
    worker_metrics_host: str
    worker_metrics_port: int | None
    """The worker's own Prometheus port (job metrics); unset: the worker serves no metrics."""
    job_ui_session_seconds: int
    """How long the browser cookie for /saq (from `CreateJobUiSession`) lasts."""
    ready_heartbeat_seconds: int
    """/ready wants a worker heartbeat younger than this."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    env: Environment
    host: str
    port: int
    web_workers: int
    """Granian worker processes of `serve` (`WEB_WORKERS`)."""
    migrate_on_start: bool
    """`serve` migrates first outside development too (`MIGRATE_ON_START`); otherwise production
    only checks that the schema is at head and an operator runs `db-upgrade`."""
    log_level: str
    log_format: Literal["text", "json"]
    max_request_body_bytes: int
    database: DatabaseSettings
    auth: AuthSettings
    mail: MailSettings
    queue: QueueSettings
    media: MediaSettings
    sign_in: SignInSettings
    edge: EdgeSettings

    @property
    def is_dev(self) -> bool:
        return self.env != "production"


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LIBPQ_VARIABLES = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE")


def _cron(env: Mapping[str, str], name: str, default: str) -> str:
    from croniter import croniter  # SAQ's own cron parser, so what passes here runs there

    value = env.get(name, "") or default
    if not croniter.is_valid(value):
        raise ConfigError(f"{name} must be a cron expression like '15 3 * * *', got {value!r}")
    return value


def _http_url(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "") or default
    if not value.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must be an http(s):// URL, got {value!r}")
    return value.rstrip("/")


def libpq_database_url(env: Mapping[str, str]) -> URL | None:
    """The owner URL from the standard libpq variables, when any is set (and DATABASE_URL is not).

    Missing parts take libpq's defaults: host localhost, port 5432, the database named after the user.
    A PGHOST starting with `/` is a socket directory.
    """
    if not any(env.get(name) for name in LIBPQ_VARIABLES):
        return None
    host = env.get("PGHOST") or "localhost"
    port = _int(env, "PGPORT", 5432, minimum=1)
    user = env.get("PGUSER") or None
    database = env.get("PGDATABASE") or user
    if not database:
        raise ConfigError("PGDATABASE (or PGUSER) must be set when the PG* variables are used")
    on_socket = host.startswith("/")
    return URL.create(
        "postgresql+asyncpg",
        username=user,
        password=env.get("PGPASSWORD") or None,
        host=None if on_socket else host,
        port=None if on_socket else port,
        database=database,
        query={"host": host, "port": str(port)} if on_socket else {},
    )


def parse_database_url(raw: str, *, variable: str = "DATABASE_URL") -> URL:
    """Accept `postgresql://` / `postgres://` / `postgresql+asyncpg://` and return an asyncpg URL."""
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError(f"{variable} is not a valid database URL: {raw!r}") from None
    if url.get_backend_name() not in {"postgresql", "postgres"}:
        raise ConfigError(f"{variable} must be a postgresql:// URL, got scheme {url.drivername!r}")
    if not url.database:
        raise ConfigError(f"{variable} must name a database, e.g. postgresql://user@host:5432/dbname")
    if not url.host and "host" not in url.query:
        raise ConfigError(f"{variable} must name a host (or a socket directory with ?host=/path)")
    return url.set(drivername="postgresql+asyncpg")


def load_dotenv(path: Path = PROJECT_ROOT / ".env") -> None:
    """Copy `KEY=value` lines from `.env` into the process environment; real variables win."""
    if not path.is_file():
        return
    for raw_line in path.read_text().splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key, value = key.strip().removeprefix("export "), value.strip().strip("'\"")
        if value:
            os.environ.setdefault(key, value)


def get_config(environ: Mapping[str, str] | None = None) -> Settings:
    """Build and validate settings from `environ` (default: the process environment).

    Raises:
        ConfigError: with a one-line message that names the offending variable.
    """
    env = os.environ if environ is None else environ

    app_env = env.get("APP_ENV", "dev") or "dev"
    if app_env not in ("dev", "test", "production"):
        raise ConfigError(f"APP_ENV must be one of dev, test, production; got {app_env!r}")

    secret_key = env.get("SECRET_KEY", "")
    if not secret_key:
        if app_env == "production":
            raise ConfigError("SECRET_KEY must be set when APP_ENV=production")
        secret_key = DEV_SECRET_KEY
    elif len(secret_key) < 32:
        raise ConfigError("SECRET_KEY must be at least 32 characters long")
    if app_env == "production" and secret_key in PUBLISHED_SECRET_KEYS:
        raise ConfigError(
            "SECRET_KEY is a published key (it is in the repository); set a random one, e.g. openssl rand -hex 32"
        )

    log_format = env.get("LOG_FORMAT", "") or ("json" if app_env == "production" else "text")
    if log_format not in ("text", "json"):
        raise ConfigError(f"LOG_FORMAT must be text or json, got {log_format!r}")

    raw_url = env.get("DATABASE_URL", "")
    owner_url = parse_database_url(raw_url) if raw_url else libpq_database_url(env)

    log_level = (env.get("LOG_LEVEL", "") or "INFO").upper()
    if log_level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}; got {env.get('LOG_LEVEL')!r}")

    host = env.get("HOST", "") or "127.0.0.1"
    if any(char.isspace() for char in host) or "/" in host:
        raise ConfigError(f"HOST must be an address to listen on, e.g. 127.0.0.1 or 0.0.0.0; got {host!r}")

    app_user = env.get("DATABASE_APP_USER", "campaign_app") or "campaign_app"
    if not app_user.replace("_", "").isalnum():
        raise ConfigError(f"DATABASE_APP_USER must be letters, digits and underscores, got {app_user!r}")

    system_user = env.get("DATABASE_SYSTEM_USER", "campaign_system") or "campaign_system"
    if not system_user.replace("_", "").isalnum():
        raise ConfigError(
            f"DATABASE_SYSTEM_USER must be letters, digits and underscores, got {system_user!r}"
        )

    pooler = (env.get("DATABASE_POOLER", "") or "none").strip().lower()
    if pooler not in {"none", "transaction"}:
        raise ConfigError(f"DATABASE_POOLER must be none or transaction, got {pooler!r}")
    raw_pooler_url = env.get("DATABASE_POOLER_URL", "")
    if pooler == "transaction" and not raw_pooler_url:
        raise ConfigError(
            "DATABASE_POOLER_URL must name the pooler (e.g. postgresql://pgbouncer:6432/dbname) "
            "when DATABASE_POOLER=transaction"
        )
    if pooler == "none" and raw_pooler_url:
        raise ConfigError(
            "DATABASE_POOLER_URL is set but DATABASE_POOLER is not; set DATABASE_POOLER=transaction"
        )
    if pooler != "none" and owner_url is None:
        raise ConfigError("DATABASE_POOLER needs DATABASE_URL: the embedded database has no pooler in front")
    pooler_url = (
        parse_database_url(raw_pooler_url, variable="DATABASE_POOLER_URL") if raw_pooler_url else None
    )

    smtp_tls = (env.get("SMTP_TLS", "") or "none").lower()
    if smtp_tls in {"true", "1", "yes"}:
        smtp_tls = "starttls"
    if smtp_tls in {"false", "0", "no"}:
        smtp_tls = "none"
    if smtp_tls not in {"none", "starttls", "tls"}:
        raise ConfigError(f"SMTP_TLS must be none, starttls or tls; got {smtp_tls!r}")
    mail_from = env.get("MAIL_FROM", "") or "Campaign Platform <no-reply@campaign-platform.local>"
    if "@" not in mail_from:
        raise ConfigError(f"MAIL_FROM must contain an email address, got {mail_from!r}")

    data_dir = Path(env.get("EMBEDDED_DB_DIR", "") or PROJECT_ROOT / ".data" / "postgres")
    port = _int(env, "PORT", 8000, minimum=1)
    if port > 65535:
        raise ConfigError(f"PORT must be at most 65535, got {port}")

    return Settings(
        env=app_env,  # pyright: ignore[reportArgumentType]
        host=host,
        port=port,
        web_workers=_int(env, "WEB_WORKERS", 1, minimum=1),
        migrate_on_start=_bool(env, "MIGRATE_ON_START", default=False),
        log_level=log_level,
        log_format=log_format,  # pyright: ignore[reportArgumentType]
        max_request_body_bytes=_int(env, "MAX_REQUEST_BODY_BYTES", 1_048_576, minimum=1024),
        database=DatabaseSettings(
            owner_url=owner_url,
            app_user=app_user,
            app_password=env.get("DATABASE_APP_PASSWORD") or None,
            system_user=system_user,
            system_password=env.get("DATABASE_SYSTEM_PASSWORD") or None,
            embedded_data_dir=data_dir.resolve(),
            pool_size=_int(env, "DATABASE_POOL_SIZE", 20, minimum=1),
            echo=_bool(env, "DATABASE_ECHO", default=False),
            pooler=pooler,  # pyright: ignore[reportArgumentType]
            pooler_url=pooler_url,
        ),
        auth=AuthSettings(
            secret_key=secret_key,
            access_token_ttl=timedelta(seconds=_int(env, "ACCESS_TOKEN_TTL_SECONDS", 900, minimum=30)),
            refresh_token_ttl=timedelta(days=_int(env, "REFRESH_TOKEN_TTL_DAYS", 30, minimum=1)),
            login_max_failures_per_account=_int(env, "LOGIN_MAX_FAILURES_PER_ACCOUNT", 5, minimum=1),
            login_max_failures_per_address=_int(env, "LOGIN_MAX_FAILURES_PER_ADDRESS", 20, minimum=1),
            login_failure_window=timedelta(seconds=_int(env, "LOGIN_FAILURE_WINDOW_SECONDS", 900, minimum=1)),
            # OWASP's argon2id baseline (19 MiB, 2 passes); tests lower it to stay fast.
            argon2_time_cost=_int(env, "ARGON2_TIME_COST", 2, minimum=1),
            argon2_memory_kib=_int(env, "ARGON2_MEMORY_KIB", 19456, minimum=8),
            data_encryption_keys=_data_encryption_keys(env, secret_key=secret_key, app_env=app_env),
        ),
        mail=MailSettings(
            smtp_host=env.get("SMTP_HOST") or None,
            smtp_port=_int(
                env,
                "SMTP_PORT",
                465 if smtp_tls == "tls" else 587 if smtp_tls == "starttls" else 25,
                minimum=1,
            ),
            smtp_user=env.get("SMTP_USER") or None,
            smtp_password=env.get("SMTP_PASSWORD") or None,
            smtp_tls=smtp_tls,  # pyright: ignore[reportArgumentType]
            mail_from=mail_from,
            app_base_url=_http_url(env, "APP_BASE_URL", "http://localhost:3000"),
        ),
        queue=QueueSettings(
            concurrency=_int(env, "WORKER_CONCURRENCY", 10, minimum=1),
            sweep_seconds=_int(env, "WORKER_SWEEP_SECONDS", 30, minimum=1),
            shutdown_grace_seconds=_int(env, "WORKER_SHUTDOWN_GRACE_SECONDS", 10, minimum=0),
            purge_cron=_cron(env, "PURGE_CRON", "15 3 * * *"),
            digest_cron=_cron(env, "NOTIFICATION_DIGEST_CRON", "5 * * * *"),
            heartbeat_file=Path(
                env.get("WORKER_HEARTBEAT_FILE", "") or Path(tempfile.gettempdir()) / "campaign-worker.alive"
            ),
        ),
        media=_media_settings(env, port=port),
        sign_in=_sign_in_settings(env, app_env=app_env),
        edge=_edge_settings(env, app_env=app_env),
    )


SECRET_KEY_DATA_KEY_ID = "sk"
"""The id of the data key derived from `SECRET_KEY` when `DATA_ENCRYPTION_KEYS` is unset."""
_DATA_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")


def _data_encryption_keys(
    env: Mapping[str, str], *, secret_key: str, app_env: str
) -> tuple[tuple[str, str], ...]:
    raw = env.get("DATA_ENCRYPTION_KEYS", "")
    if not raw.strip():
        return ((SECRET_KEY_DATA_KEY_ID, secret_key),)
    keys: list[tuple[str, str]] = []
    for position, entry in enumerate(raw.split(","), start=1):
        key_id, separator, material = entry.strip().partition(":")
        if not separator or not _DATA_KEY_ID.match(key_id):
            # The entry itself is never echoed: it may be a key.
            raise ConfigError(
                f"DATA_ENCRYPTION_KEYS entry {position} is not id:key (id: up to 16 letters, digits, - "
                "or _); list entries newest first, e.g. k2:$(openssl rand -hex 32),k1:<the previous key>"
            )
        if len(material) < 32:
            raise ConfigError(f"DATA_ENCRYPTION_KEYS: key {key_id!r} must be at least 32 characters long")
        if app_env == "production" and material in PUBLISHED_SECRET_KEYS:
            raise ConfigError(
                f"DATA_ENCRYPTION_KEYS: key {key_id!r} is a published key (it is in the repository); "
                "set a random one, e.g. openssl rand -hex 32"
            )
        if any(known == key_id for known, _ in keys):
            raise ConfigError(f"DATA_ENCRYPTION_KEYS names key {key_id!r} twice; each id must be unique")
        keys.append((key_id, material))
    return tuple(keys)


_MIB = 1024 * 1024


def _media_settings(env: Mapping[str, str], *, port: int) -> MediaSettings:
    bucket = env.get("S3_BUCKET") or None
    backend = (env.get("MEDIA_STORAGE", "") or ("s3" if bucket else "local")).lower()
    if backend not in {"local", "s3"}:
        raise ConfigError(f"MEDIA_STORAGE must be local or s3, got {backend!r}")
    if backend == "s3" and not bucket:
        raise ConfigError("S3_BUCKET must be set when MEDIA_STORAGE=s3")
    endpoint = env.get("S3_ENDPOINT_URL") or None
    if endpoint is not None and not endpoint.startswith(("http://", "https://")):
        raise ConfigError(f"S3_ENDPOINT_URL must be an http(s):// URL, got {endpoint!r}")
    base_url = env.get("MEDIA_PUBLIC_BASE_URL", "") or f"http://127.0.0.1:{port}"
    if not base_url.startswith(("http://", "https://")):
        raise ConfigError(f"MEDIA_PUBLIC_BASE_URL must be an http(s):// URL, got {base_url!r}")
    try:
        delay = float(env.get("MEDIA_PROCESSING_DELAY_SECONDS", "") or 0)
    except ValueError:
        raise ConfigError("MEDIA_PROCESSING_DELAY_SECONDS must be a number of seconds") from None
    return MediaSettings(
        backend=backend,  # pyright: ignore[reportArgumentType]
        local_root=Path(env.get("MEDIA_ROOT", "") or PROJECT_ROOT / ".data" / "media").resolve(),
        public_base_url=base_url.rstrip("/"),
        s3_bucket=bucket,
        s3_endpoint_url=endpoint,
        s3_region=env.get("S3_REGION") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
        max_post_media_bytes=_int(env, "MEDIA_MAX_POST_MEDIA_BYTES", 2048 * _MIB, minimum=1024),
        max_image_bytes=_int(env, "MEDIA_MAX_IMAGE_BYTES", 10 * _MIB, minimum=1024),
        max_media_kit_bytes=_int(env, "MEDIA_MAX_MEDIA_KIT_BYTES", 50 * _MIB, minimum=1024),
        team_quota_bytes=_int(env, "MEDIA_TEAM_QUOTA_BYTES", 20 * 1024 * _MIB, minimum=1024),
        upload_ttl_seconds=_int(env, "MEDIA_UPLOAD_TTL_SECONDS", 900, minimum=10),
        download_ttl_seconds=_int(env, "MEDIA_DOWNLOAD_TTL_SECONDS", 300, minimum=5),
        sweep_cron=_cron(env, "MEDIA_SWEEP_CRON", "*/10 * * * *"),
        processing_delay_seconds=max(delay, 0.0),
    )


_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def _sign_in_settings(env: Mapping[str, str], *, app_env: str) -> SignInSettings:
    client_id = env.get("GOOGLE_OAUTH2_CLIENT_ID") or None
    client_secret = env.get("GOOGLE_OAUTH2_CLIENT_SECRET") or None
    if (client_id is None) != (client_secret is None):
        missing = "GOOGLE_OAUTH2_CLIENT_SECRET" if client_secret is None else "GOOGLE_OAUTH2_CLIENT_ID"
        raise ConfigError(f"{missing} must be set too: Google sign-in needs both the client id and secret")
    issuer = (env.get("GOOGLE_OAUTH2_ISSUER", "") or "https://accounts.google.com").rstrip("/")
    host = issuer.partition("://")[2].split("/")[0].rsplit(":", 1)[0]
    plain_http_ok = app_env != "production" and host in _LOOPBACK_HOSTS
    if not (issuer.startswith("https://") or (issuer.startswith("http://") and plain_http_ok)):
        raise ConfigError(
            f"GOOGLE_OAUTH2_ISSUER must be an https:// URL (http:// only for a loopback test provider), got {issuer!r}"
        )
    base_url = (env.get("APP_BASE_URL", "") or "http://localhost:3000").rstrip("/")
    redirect_uri = env.get("GOOGLE_OAUTH2_REDIRECT_URI", "") or f"{base_url}/auth/google/callback"
    if not redirect_uri.startswith(("http://", "https://")):
        raise ConfigError(f"GOOGLE_OAUTH2_REDIRECT_URI must be an http(s):// URL, got {redirect_uri!r}")
    try:
        timeout = float(env.get("GOOGLE_OAUTH2_TIMEOUT_SECONDS", "") or 10)
    except ValueError:
        raise ConfigError("GOOGLE_OAUTH2_TIMEOUT_SECONDS must be a number of seconds") from None
    if timeout <= 0:
        raise ConfigError(f"GOOGLE_OAUTH2_TIMEOUT_SECONDS must be positive, got {timeout}")
    totp_issuer = env.get("TOTP_ISSUER", "") or "Campaign Platform"
    if ":" in totp_issuer:
        raise ConfigError(
            f"TOTP_ISSUER must not contain ':' (authenticator apps split on it), got {totp_issuer!r}"
        )
    return SignInSettings(
        google_client_id=client_id,
        google_client_secret=client_secret,
        google_issuer=issuer,
        google_redirect_uri=redirect_uri,
        flow_ttl=timedelta(seconds=_int(env, "GOOGLE_OAUTH2_FLOW_TTL_SECONDS", 600, minimum=30)),
        provider_timeout_seconds=timeout,
        totp_issuer=totp_issuer,
        mfa_challenge_ttl=timedelta(seconds=_int(env, "MFA_CHALLENGE_TTL_SECONDS", 300, minimum=30)),
    )


_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


def _edge_settings(env: Mapping[str, str], *, app_env: str) -> EdgeSettings:
    raw_origins = env.get("CORS_ORIGINS")
    if raw_origins is None:
        raw_origins = "*" if app_env == "dev" else ""
    origins = tuple(origin.strip().rstrip("/") for origin in raw_origins.split(",") if origin.strip())
    for origin in origins:
        if origin != "*" and not _ORIGIN.match(origin):
            raise ConfigError(
                f"CORS_ORIGINS must list origins like https://app.example.com (scheme, host, port; no path), got {origin!r}"
            )
    allow_credentials = _bool(env, "CORS_ALLOW_CREDENTIALS", default=False)
    if allow_credentials and "*" in origins:
        raise ConfigError("CORS_ALLOW_CREDENTIALS=true needs explicit CORS_ORIGINS, not *")
    proxies = []
    for cidr in (env.get("TRUSTED_PROXIES", "") or "").split(","):
        if not cidr.strip():
            continue
        try:
            proxies.append(str(ip_network(cidr.strip(), strict=False)))
        except ValueError:
            raise ConfigError(
                f"TRUSTED_PROXIES must be comma-separated IP addresses or CIDRs, got {cidr.strip()!r}"
            ) from None
    metrics_token = env.get("METRICS_TOKEN") or None
    if metrics_token is not None and len(metrics_token) < 16:
        raise ConfigError("METRICS_TOKEN must be at least 16 characters long")
    worker_metrics_port = _int(env, "WORKER_METRICS_PORT", 0, minimum=0) or None
    if worker_metrics_port is not None and worker_metrics_port > 65535:
        raise ConfigError(f"WORKER_METRICS_PORT must be a TCP port (1-65535), got {worker_metrics_port}")
    return EdgeSettings(
        cors_origins=origins,
        cors_allow_credentials=allow_credentials,
        trusted_proxies=tuple(proxies),
        metrics_token=metrics_token,
        worker_metrics_host=env.get("WORKER_METRICS_HOST", "") or "127.0.0.1",
        worker_metrics_port=worker_metrics_port,
        job_ui_session_seconds=_int(env, "JOB_UI_SESSION_SECONDS", 600, minimum=30),
        ready_heartbeat_seconds=_int(env, "READY_HEARTBEAT_SECONDS", 60, minimum=15),
    )
