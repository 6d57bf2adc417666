"""Operator commands behind the Makefile: `python -m app.cli <command>`.

db-start / db-stop manage the embedded PostgreSQL; db-upgrade, db-downgrade, db-migrate and
db-reset run Alembic as the owner (after making sure the application role exists); serve runs
Granian, after migrating in development (or with --migrate / MIGRATE_ON_START) and after checking
that the schema is at head in production; seed loads the demo team (app/seed.py).

Exit codes: 2 for configuration an operator must fix (one line on stderr naming the variable or
the command to run; a busy `PORT` or `WORKER_METRICS_PORT` among them), 1 for a database that
cannot be used.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import subprocess
import sys
from typing import Any

from app.config import ConfigError, Settings, get_config, load_dotenv
from app.queue.signals import StopRequest

logger = logging.getLogger("app.cli")

# `app.db.setup` (SQLAlchemy, asyncpg, Alembic) is imported inside the commands that need it, so
# `serve`'s process — Granian's master, which only supervises workers — stays small.


def _fail(message: str, code: int) -> SystemExit:
    print(message, file=sys.stderr)  # noqa: T201
    return SystemExit(code)


def _settings() -> Settings:
    try:
        return get_config()
    except ConfigError as exc:
        raise _fail(f"configuration error: {exc}", 2) from None


def _require_server(settings: Settings) -> None:
    """Production has no embedded server (the image does not carry it): it needs a real one."""
    if settings.env == "production" and settings.database.is_embedded:
        raise _fail(
            "configuration error: DATABASE_URL (or PGHOST/PGUSER/PGPASSWORD/PGDATABASE) must be set "
            "when APP_ENV=production",
            2,
        )


def _check_schema(settings: Settings) -> None:
    """Production start: the schema must be at head already (the operator's migrate step)."""
    from app.db import setup

    assert settings.database.owner_url is not None
    try:
        setup.check_schema_at_head(settings.database.app_url_from(settings.database.owner_url))
    except setup.SchemaNotAtHeadError as exc:
        raise _fail(f"refusing to start: {exc}", 2) from None
    except ConfigError as exc:
        raise _fail(f"database error: {exc}", 1) from None


def _owner_url(settings: Settings):
    import asyncpg

    from app.db import setup

    try:
        owner_url = setup.resolve_owner_url(settings.database)
        asyncio.run(setup.ensure_roles(owner_url, settings.database))
    except (ConfigError, OSError) as exc:
        print(f"database error: {exc}", file=sys.stderr)  # noqa: T201
        raise SystemExit(1) from None
    except asyncpg.PostgresError as exc:  # a wrong owner password, an unknown role or database
        print(f"database error: cannot use DATABASE_URL as the owner: {exc}", file=sys.stderr)  # noqa: T201
        raise SystemExit(1) from None
    return owner_url


def cmd_db_start(settings: Settings) -> None:
    if not settings.database.is_embedded:
        print("DATABASE_URL is set; nothing to start (the embedded server is only used without it).")  # noqa: T201
        return
    owner_url = _owner_url(settings)
    print(f"embedded PostgreSQL running: {owner_url.render_as_string(hide_password=True)}")  # noqa: T201


def cmd_db_stop(settings: Settings) -> None:
    from app.db import setup

    stopped = setup.stop_embedded_server(settings.database.embedded_data_dir)
    print("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")  # noqa: T201


def _alembic(settings: Settings, action: str, *args: str, **kwargs: object) -> None:
    from alembic import command

    from app.db import setup

    config = setup.alembic_config(_owner_url(settings), settings.database)
    getattr(command, action)(config, *args, **kwargs)


def cmd_serve(settings: Settings, *, migrate: bool) -> None:
    """Prepare (or check) the database in a child process, then run Granian here as the master.

    Development migrates on every start; production migrates only when asked (`--migrate`,
    MIGRATE_ON_START=1) and otherwise refuses to serve a schema that is not at head. The master
    never imports the application (only its workers do, after they fork), and the migrations'
    imports die with the child: the master stays a small supervisor.
    """
    from granian.server import Server

    _require_server(settings)
    ensure_port_free(settings.host, settings.port)
    step = "db-prepare" if migrate or settings.migrate_on_start or settings.is_dev else "db-check"
    prepared = subprocess.run(  # noqa: S603 (our own interpreter and one of two fixed commands)
        [sys.executable, "-m", "app.cli", step], stdout=subprocess.PIPE, text=True, check=False
    )
    if prepared.returncode != 0:
        raise SystemExit(prepared.returncode)
    if step == "db-prepare":
        # The worker processes read the same settings; hand them the resolved database.
        os.environ["DATABASE_URL"] = prepared.stdout.strip().splitlines()[-1]
    print(f"serving on http://{settings.host}:{settings.port} (Swagger UI at /schema/swagger)")  # noqa: T201
    Server("app.main:app", **granian_options(settings)).serve()


def ensure_port_free(host: str, port: int, *, variable: str = "PORT") -> None:
    """Fail (exit 2, one line naming `variable`) when something listens on `host:port` already.

    Granian binds with SO_REUSEPORT, so a second server on a busy port would start and share the
    port silently. A plain bind (no SO_REUSEPORT) fails while any listener holds it. A server
    starting in the same instant can still slip past this check; a forgotten one cannot.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # ignore TIME_WAIT leftovers
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise _fail(
                f"cannot listen on {host}:{port}: {exc.strerror or exc} "
                f"(another server is running there? stop it or set {variable})",
                2,
            ) from None


def granian_options(settings: Settings) -> dict[str, Any]:
    """How the API is served (`make dev`, the Docker image, `make bench`).

    One event loop thread per worker (`runtime_mode=st`) and asyncio tasks. Granian's own access
    log is off: the application writes one (app.lib.http_edge); Granian's other lines follow
    `LOG_FORMAT` (app.lib.logs.granian_log_dictconfig).
    """
    from granian.constants import Interfaces, RuntimeModes

    from app.lib.logs import granian_log_dictconfig

    return {
        "address": settings.host,
        "port": settings.port,
        "interface": Interfaces.ASGI,
        "workers": settings.web_workers,
        "runtime_mode": RuntimeModes.st,
        "log_access": False,
        "log_dictconfig": granian_log_dictconfig(settings),
    }


def cmd_db_prepare(settings: Settings) -> None:
    """Server up, roles aligned, schema at head; prints the owner DSN (for `serve`)."""
    from app.db import setup

    try:
        owner_url = setup.prepare_database(settings.database)
    except ConfigError as exc:
        print(f"database error: {exc}", file=sys.stderr)  # noqa: T201
        raise SystemExit(1) from None
    print(owner_url.render_as_string(hide_password=False))  # noqa: T201


def cmd_worker(settings: Settings, stop: StopRequest) -> None:
    """Run one SAQ worker (tasks and cron) until SIGINT/SIGTERM (heard from the process's start).

    Development makes sure the roles exist first; production only checks that the schema is at
    head and connects with the application and system roles' credentials.
    """
    from litestar_saq import SAQPlugin

    from app.lib.logs import logging_config
    from app.queue.config import QUEUE_NAME, MetricsPortUnavailableError, build_saq_config
    from app.queue.worker import beat, promptly_stopping

    _require_server(settings)
    if (metrics_port := settings.edge.worker_metrics_port) is not None:
        host = settings.edge.worker_metrics_host
        ensure_port_free(host, metrics_port, variable="WORKER_METRICS_PORT")
    if not settings.is_dev:
        _check_schema(settings)  # before logging is set up: a refusal is one line, not Alembic's chatter
    if (config := logging_config(settings)) is not None:
        config.configure()
    database_url = _owner_url(settings) if settings.is_dev else settings.database.owner_url
    assert database_url is not None
    worker = promptly_stopping(SAQPlugin(build_saq_config(settings, database_url)).get_workers()[QUEUE_NAME])
    if stop.requested:
        return
    print(f"worker {worker.id} processing queue {QUEUE_NAME!r} (Ctrl-C to stop)", flush=True)  # noqa: T201

    async def run() -> None:
        stop.attach(asyncio.get_running_loop(), worker)
        heartbeat = asyncio.create_task(beat(settings.queue.heartbeat_file))
        try:
            if not stop.requested:
                await worker.queue.connect()
                try:
                    await worker.start()  # returns at once when a stop came during the connect
                finally:
                    # SAQ's start removed its handlers (back to the defaults): a second signal
                    # during the disconnect is heard, not fatal.
                    stop.attach(asyncio.get_running_loop(), worker)
                    logger.info("worker stopped; closing the queue's connections")
                    try:
                        await asyncio.wait_for(worker.queue.disconnect(), timeout=TEARDOWN_SECONDS)
                    except TimeoutError:
                        logger.warning("the queue's pool did not close within %.0f s", TEARDOWN_SECONDS)
        finally:
            heartbeat.cancel()
            settings.queue.heartbeat_file.unlink(missing_ok=True)
            await cancel_leftovers()

    try:
        asyncio.run(run())
    except MetricsPortUnavailableError as exc:  # taken between the check above and the bind
        raise _fail(str(exc), 2) from None
    logger.info("worker exited")


TEARDOWN_SECONDS = 10.0
"""How long the worker's last steps (closing the pool, cancelling leftover tasks) may take."""


async def cancel_leftovers() -> None:
    """Cancel what is still running (library background tasks) with a bound.

    `asyncio.run` would wait for them without one: a task that swallows its cancellation (a
    listener inside a driver) would keep a stopped worker alive forever. Past the bound we exit.
    """
    current = asyncio.current_task()
    leftovers = [task for task in asyncio.all_tasks() if task is not current]
    for task in leftovers:
        task.cancel()
    if not leftovers:
        return
    _, pending = await asyncio.wait(leftovers, timeout=TEARDOWN_SECONDS)
    if pending:
        logger.warning(
            "%d task(s) ignored cancellation at shutdown: %s; exiting anyway", len(pending), pending
        )
        logging.shutdown()
        os._exit(0)


def cmd_worker_alive(settings: Settings) -> None:
    """Exit 0 when a worker beat recently (the container healthcheck), else 1 with the reason."""
    from app.queue.worker import HEARTBEAT_SECONDS, heartbeat_age

    age = heartbeat_age(settings.queue.heartbeat_file)
    if age is None:
        raise _fail(f"no worker heartbeat at {settings.queue.heartbeat_file}", 1)
    if age > 3 * HEARTBEAT_SECONDS:
        raise _fail(f"the worker's last heartbeat is {age:.0f} s old (its loop is stuck or gone)", 1)
    print(f"worker alive (last heartbeat {age:.0f} s ago)")  # noqa: T201


def cmd_db_check(settings: Settings) -> None:
    """Exit 0 when the schema is at head, 2 (naming the command to run) when it is not."""
    _require_server(settings)
    _check_schema(settings)


def cmd_db_migrate(settings: Settings, message: str) -> None:
    """Autogenerate a migration; with no model changes say so and write no file."""
    from alembic import command

    from app.db import setup

    changed: list[bool] = []

    def skip_empty(context: Any, revision: Any, directives: list[Any]) -> None:
        script = directives[0]
        if script.upgrade_ops.is_empty():
            directives[:] = []
            changed.append(False)

    config = setup.alembic_config(_owner_url(settings), settings.database)
    command.revision(config, message=message, autogenerate=True, process_revision_directives=skip_empty)
    if changed == [False]:
        print("no changes in the models: no migration written")  # noqa: T201


def cmd_mail_outbox(settings: Settings, limit: int) -> None:
    """Print the newest emails in the outbox (what the app sent, or would send without SMTP)."""

    owner_url = _owner_url(settings)

    async def show() -> None:
        import asyncpg

        from app.db.engine import libpq_dsn

        conn = await asyncpg.connect(libpq_dsn(owner_url))
        try:
            async with conn.transaction():  # forced RLS holds for an owner that is no superuser
                await conn.execute("SELECT set_config('app.is_platform_admin', 'on', true)")
                rows = await conn.fetch(
                    "SELECT created_at, to_address, subject, status, text_body FROM email_messages "
                    "ORDER BY created_at DESC LIMIT $1",
                    limit,
                )
        finally:
            await conn.close()
        for row in reversed(rows):
            print(f"--- {row['created_at']:%Y-%m-%d %H:%M:%S}  to {row['to_address']}  [{row['status']}]")  # noqa: T201
            print(f"Subject: {row['subject']}\n\n{row['text_body']}")  # noqa: T201
        if not rows:
            print("the outbox is empty")  # noqa: T201

    asyncio.run(show())


def cmd_seed(settings: Settings) -> None:
    from app.db.engine import create_engine, create_session_maker
    from app.lib.crypto import Passwords
    from app.seed import seed_demo

    owner_url = _owner_url(settings)
    engine = create_engine(settings.database.app_url_from(owner_url), pool_size=1)
    passwords = Passwords(
        time_cost=settings.auth.argon2_time_cost, memory_cost_kib=settings.auth.argon2_memory_kib
    )

    async def run():
        try:
            return await seed_demo(create_session_maker(engine), passwords)
        finally:
            await engine.dispose()

    result = asyncio.run(run())
    if result is None:
        print("demo data already present (the demo user exists); nothing changed")  # noqa: T201
        return
    print(f"demo team {result.team_id} seeded; log in as {result.email} / {result.password}")  # noqa: T201


OPENAPI_EXPORT_ENV = {
    "APP_ENV": "production",
    "SECRET_KEY": "openapi-export-only-never-signs-anything-0000",
    "DATABASE_URL": "postgresql://openapi-export@127.0.0.1:9/never-connected",
}
"""The export builds the production app (no development routes) and never opens a connection."""


def cmd_openapi(output: str) -> None:
    """Write the OpenAPI document without a server or a database: what `make codegen` runs."""
    import json
    from pathlib import Path

    from app.main import create_app

    application = create_app(get_config(OPENAPI_EXPORT_ENV))
    text = json.dumps(application.openapi_schema.to_schema(), indent=2, ensure_ascii=False) + "\n"
    if output == "-":
        sys.stdout.write(text)
        return
    Path(output).write_text(text, encoding="utf-8")
    print(f"wrote {output}")  # noqa: T201


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve", help="run the API with Granian (migrating first in development or with --migrate)"
    )
    serve.add_argument(
        "--migrate",
        action="store_true",
        help="migrate to head first, outside development too (needs the owner)",
    )
    sub.add_parser("db-prepare", help="start/migrate the database and print its owner URL (used by serve)")
    sub.add_parser("db-check", help="exit 0 when the schema is at head, 2 when it needs db-upgrade")
    sub.add_parser("db-start", help="start the embedded PostgreSQL (without DATABASE_URL)")
    sub.add_parser("db-stop", help="stop the embedded PostgreSQL")
    upgrade = sub.add_parser("db-upgrade", help="migrate to a revision (default: head)")
    upgrade.add_argument("revision", nargs="?", default="head")
    downgrade = sub.add_parser("db-downgrade", help="migrate down (default: one step)")
    downgrade.add_argument("revision", nargs="?", default="-1")
    migrate = sub.add_parser("db-migrate", help="autogenerate a migration from the models")
    migrate.add_argument("-m", "--message", required=True)
    sub.add_parser("db-reset", help="downgrade to base, then upgrade to head (destroys data)")
    sub.add_parser("worker", help="run a background worker (tasks and cron)")
    sub.add_parser("worker-alive", help="exit 0 when a worker on this machine beat recently (healthcheck)")
    outbox = sub.add_parser("mail-outbox", help="print the newest emails in the outbox")
    outbox.add_argument("--limit", type=int, default=10)

    sub.add_parser("seed", help="load a demo team (skipped when the demo user exists)")
    openapi = sub.add_parser("openapi", help="write the OpenAPI document (no server, no database)")
    openapi.add_argument("--output", default="-", help="a file, or - for standard output")
    args = parser.parse_args(argv)
    if args.command == "openapi":
        cmd_openapi(args.output)
        return

    # Before anything slow: a stop signal during the worker's start-up must not be lost.
    stop = StopRequest().install() if args.command == "worker" else None
    load_dotenv()
    settings = _settings()
    match args.command:
        case "serve":
            cmd_serve(settings, migrate=args.migrate)
        case "db-prepare":
            cmd_db_prepare(settings)
        case "db-check":
            cmd_db_check(settings)
        case "db-start":
            cmd_db_start(settings)
        case "db-stop":
            cmd_db_stop(settings)
        case "db-upgrade":
            _alembic(settings, "upgrade", args.revision)
        case "db-downgrade":
            _alembic(settings, "downgrade", args.revision)
        case "db-migrate":
            cmd_db_migrate(settings, args.message)
        case "worker":
            assert stop is not None
            cmd_worker(settings, stop)
        case "worker-alive":
            cmd_worker_alive(settings)
        case "mail-outbox":
            cmd_mail_outbox(settings, args.limit)
        case "db-reset":
            _alembic(settings, "downgrade", "base")
            _alembic(settings, "upgrade", "head")
        case "seed":
            cmd_seed(settings)


if __name__ == "__main__":
    main()
