"""The operator commands as real processes: start-up configuration errors, migrations on start,
a busy port, `db-migrate` without changes, `make dev-all` and Ctrl-C.

Every test runs `python -m app.cli ...` (or the dev-all script) as a subprocess with its own
environment and asserts on its exit code and what it printed, as an operator would see it.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from app.config import get_config
from app.db import setup
from app.queue.config import MetricsPortUnavailableError, start_worker_metrics
from tests.background import ROOT, free_port
from tests.database import TestDatabase
from tests.waiting import CEILING, wait_until

PRODUCTION = {"APP_ENV": "production", "SECRET_KEY": secrets.token_hex(32), "LOG_FORMAT": "text"}


def _env(database: TestDatabase | None = None, /, **overrides: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PG") and key not in {"DATABASE_URL", "APP_ENV", "SECRET_KEY"}
    }
    env |= {"PYTHONUNBUFFERED": "1", "ARGON2_TIME_COST": "1", "ARGON2_MEMORY_KIB": "8192"}
    if database is not None:
        env["DATABASE_URL"] = database.owner_url.render_as_string(hide_password=False)
    return env | overrides


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=CEILING,
        check=False,
    )


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got:\n{stderr}"
    return lines[0]


# -- configuration errors: one line, exit 2, before anything starts ---------------------------


@pytest.mark.parametrize(
    ("command", "variable", "value"),
    [
        ("worker", "LOG_LEVEL", "LOUD"),
        ("serve", "LOG_LEVEL", "LOUD"),
        ("serve", "WEB_WORKERS", "abc"),
        ("serve", "WEB_WORKERS", "0"),
        ("worker", "WORKER_CONCURRENCY", "many"),
        ("worker", "PURGE_CRON", "at three"),
        ("serve", "PORT", "70000"),
        ("serve", "MIGRATE_ON_START", "perhaps"),
        ("serve", "APP_BASE_URL", "localhost:3000"),
        ("db-upgrade", "PGPORT", "five"),
    ],
)
def test_a_bad_variable_stops_start_up_with_one_line_naming_it(
    command: str, variable: str, value: str
) -> None:
    result = _cli(command, env=_env(**{variable: value}))
    assert result.returncode == 2, result.stderr
    line = _one_line(result.stderr)
    assert line.startswith("configuration error:"), line
    assert variable in line, line
    assert "Traceback" not in result.stderr


def test_production_without_a_database_says_which_variable_to_set() -> None:
    result = _cli("worker", env=_env(**PRODUCTION))
    assert result.returncode == 2, result.stderr
    line = _one_line(result.stderr)
    assert "DATABASE_URL" in line, line
    assert "PGHOST" in line, line


# -- libpq variables ------------------------------------------------------------------------


def test_libpq_variables_build_the_database_url_when_database_url_is_unset() -> None:
    settings = get_config(
        {
            "PGHOST": "db.internal",
            "PGPORT": "6432",
            "PGUSER": "owner",
            "PGPASSWORD": "s3cret",
            "PGDATABASE": "app",
        }
    )
    url = settings.database.owner_url
    assert url is not None
    assert (url.host, url.port, url.username, url.password, url.database) == (
        "db.internal",
        6432,
        "owner",
        "s3cret",
        "app",
    )
    # DATABASE_URL wins when both are set; with neither, the embedded server.
    both = get_config({"DATABASE_URL": "postgresql://u@elsewhere/x", "PGHOST": "db.internal"})
    assert both.database.owner_url is not None
    assert both.database.owner_url.host == "elsewhere"
    assert get_config({}).database.is_embedded


def test_libpq_variables_reach_the_real_database(database: TestDatabase) -> None:
    url = database.owner_url
    socket_dir = url.query.get("host")
    env = _env(
        PGUSER=url.username or "",
        PGDATABASE=database.name,
        **(
            {"PGHOST": str(socket_dir)}
            if socket_dir
            else {"PGHOST": url.host or "", "PGPORT": str(url.port or 5432)}
        ),
        **({"PGPASSWORD": url.password} if url.password else {}),
        **({"PGPORT": str(url.query["port"])} if "port" in url.query else {}),
    )
    result = _cli("db-check", env=env)
    assert result.returncode == 0, result.stderr


# -- migrations on start ----------------------------------------------------------------------


@pytest.fixture
async def empty_database(database: TestDatabase) -> AsyncIterator[TestDatabase]:
    """A database on the test server with the roles but no schema (never migrated)."""
    name = f"cp_cli_{uuid.uuid4().hex[:8]}"
    owner_url = await setup.ensure_database(database.server_url, name)
    yield TestDatabase(owner_url=owner_url, server_url=database.server_url, name=name, embedded_dir=None)
    conn = await asyncpg.connect(database.dsn(database.server_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def _revisions(database: TestDatabase) -> set[str]:
    return await setup.current_revisions(database.owner_url)


class Serve:
    """`python -m app.cli serve` on a free port, its output in a log file."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.port = free_port()
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"cp-serve-{os.getpid()}-{self.port}.log"
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", *args],
                cwd=ROOT,
                env={**env, "PORT": str(self.port), "HOST": "127.0.0.1"},
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )

    def healthy(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"serve exited {self.process.returncode}:\n{self.log()}")
        return _healthy(self.port)

    def wait_healthy(self) -> Serve:
        wait_until(self.healthy, what="/health", within=2 * CEILING, interval=0.2, seen=self.log)
        return self

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=CEILING)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=CEILING)
        self.log_path.unlink(missing_ok=True)


@pytest.fixture
def serving() -> Iterator[list[Serve]]:
    started: list[Serve] = []
    yield started
    for server in started:
        server.stop()


async def test_production_refuses_to_serve_an_unmigrated_schema(empty_database: TestDatabase) -> None:
    result = _cli("serve", env=_env(empty_database, **PRODUCTION, PORT=str(free_port())))
    assert result.returncode == 2, result.stderr
    line = _one_line(result.stderr)
    assert "python -m app.cli db-upgrade" in line, line
    assert "not migrated" in line, line
    assert await _revisions(empty_database) == set(), "production start must not migrate"


async def test_production_refuses_a_schema_from_before_the_app_role_could_read_its_version(
    empty_database: TestDatabase,
) -> None:
    """An upgrade from an old release: the version table exists, the application role may not read it."""
    migrated = _cli("db-upgrade", "0001", env=_env(empty_database, APP_ENV="test"))
    assert migrated.returncode == 0, migrated.stderr
    result = _cli("serve", env=_env(empty_database, **PRODUCTION, PORT=str(free_port())))
    assert result.returncode == 2, result.stderr
    line = _one_line(result.stderr)
    assert "older than revision 0014" in line, line
    assert "python -m app.cli db-upgrade" in line, line
    assert await _revisions(empty_database) == {"0001"}, "production start must not migrate"


async def test_production_worker_refuses_an_unmigrated_schema(empty_database: TestDatabase) -> None:
    result = _cli("worker", env=_env(empty_database, **PRODUCTION))
    assert result.returncode == 2, result.stderr
    assert "db-upgrade" in _one_line(result.stderr)


async def test_production_serves_a_schema_at_head_without_migrating(
    database: TestDatabase, serving: list[Serve]
) -> None:
    before = await _revisions(database)
    assert before == setup.head_revisions()
    server = Serve(_env(database, **PRODUCTION))
    serving.append(server)
    server.wait_healthy()
    assert await _revisions(database) == before


@pytest.mark.parametrize("how", ["--migrate", "MIGRATE_ON_START=1", "development"])
async def test_serve_migrates_in_development_or_when_asked(
    empty_database: TestDatabase, serving: list[Serve], how: str
) -> None:
    if how == "development":
        env = _env(empty_database, APP_ENV="dev")
    elif how == "--migrate":
        env = _env(empty_database, **PRODUCTION)
    else:
        env = _env(empty_database, **PRODUCTION, MIGRATE_ON_START="1")
    server = Serve(env, *(["--migrate"] if how == "--migrate" else []))
    serving.append(server)
    server.wait_healthy()
    assert await _revisions(empty_database) == setup.head_revisions()


def test_db_upgrade_as_an_unknown_owner_says_so_in_one_line(database: TestDatabase) -> None:
    """As compose's `migrate` does when POSTGRES_PASSWORD no longer matches the volume's database."""
    wrong_owner = database.owner_url.set(username="no_such_owner", password="wrong")
    result = _cli(
        "db-upgrade",
        env=_env(database, APP_ENV="test", DATABASE_URL=wrong_owner.render_as_string(hide_password=False)),
    )
    assert result.returncode == 1, result.stdout + result.stderr
    line = _one_line(result.stderr)
    assert "DATABASE_URL" in line, line
    assert "no_such_owner" in line, line


# -- a busy port ------------------------------------------------------------------------------


def test_a_second_server_on_a_busy_port_is_refused(database: TestDatabase, serving: list[Serve]) -> None:
    first = Serve(_env(database, APP_ENV="test"))
    serving.append(first)
    first.wait_healthy()
    second = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve"],
        cwd=ROOT,
        env=_env(database, APP_ENV="test", PORT=str(first.port), HOST="127.0.0.1"),
        capture_output=True,
        text=True,
        timeout=CEILING,
        check=False,
    )
    assert second.returncode == 2, second.stdout + second.stderr  # like the worker's busy metrics port
    line = _one_line(second.stderr)
    assert f"127.0.0.1:{first.port}" in line, line
    assert "PORT" in line, line
    assert "serving on" not in second.stdout
    assert first.healthy(), "the first server must keep serving"


def test_a_worker_on_a_busy_metrics_port_says_so_in_one_line(database: TestDatabase) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = _cli(
            "worker",
            env=_env(
                database, APP_ENV="test", WORKER_METRICS_HOST="127.0.0.1", WORKER_METRICS_PORT=str(port)
            ),
        )
    assert result.returncode == 2, result.stdout + result.stderr
    line = _one_line(result.stderr)
    assert f"127.0.0.1:{port}" in line, line
    assert "WORKER_METRICS_PORT" in line, line
    assert "processing queue" not in result.stdout


def test_the_metrics_bind_itself_fails_with_the_same_clear_error() -> None:
    """The worker's start-up hook, for a port taken after the worker's check."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        settings = get_config(
            {"APP_ENV": "test", "WORKER_METRICS_HOST": "127.0.0.1", "WORKER_METRICS_PORT": str(port)}
        )
        with pytest.raises(MetricsPortUnavailableError, match=f"127.0.0.1:{port}.*WORKER_METRICS_PORT"):
            start_worker_metrics(settings)


# -- db-migrate without changes ---------------------------------------------------------------


def test_db_migrate_without_model_changes_writes_no_file(database: TestDatabase) -> None:
    versions = ROOT / "alembic" / "versions"
    before = set(versions.iterdir())
    try:
        result = _cli("db-migrate", "-m", "nothing changed", env=_env(database, APP_ENV="test"))
        after = set(versions.iterdir())
        assert result.returncode == 0, result.stderr
        assert after == before, f"a migration was written: {sorted(p.name for p in after - before)}"
        assert "no changes" in result.stdout, result.stdout
    finally:
        for path in set(versions.iterdir()) - before:
            path.unlink()


# -- make dev-all and Ctrl-C ------------------------------------------------------------------

TAKE_TERMINAL = "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); os.execvp(sys.argv[1], sys.argv[1:])"
"""Run as a new session's leader: make stdin (a pty's slave) the controlling terminal, then exec."""


def _session_processes(session: int) -> list[int]:
    """Live (not zombie) processes of `session`: what a terminal's session still runs."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _parent, _group, sid = stat.read_text().rsplit(")", 1)[1].split()[:4]
        except (OSError, ValueError):
            continue  # gone while we looked
        if int(sid) == session and state != "Z":
            found.append(int(stat.parent.name))
    return found


class TerminalOutput:
    """Everything written to a pseudo-terminal, drained by a thread (a full pty blocks writers)."""

    def __init__(self, master: int) -> None:
        self._master = master
        self._chunks: list[bytes] = []
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self._master, 65536)
            except OSError:  # EIO: every slave side closed
                return
            if not chunk:
                return
            self._chunks.append(chunk)

    @property
    def text(self) -> str:
        return b"".join(self._chunks).decode(errors="replace")


def _dev_all_env(database: TestDatabase, port: int) -> dict[str, str]:
    # A stop that waits out the worker's grace period fails the bound of the tests below.
    return _env(database, APP_ENV="dev", PORT=str(port), WORKER_SHUTDOWN_GRACE_SECONDS="90")


def _outside_make(env: dict[str, str]) -> dict[str, str]:
    """Under `make test` the suite inherits make's variables: the make started here is no sub-make."""
    return {key: value for key, value in env.items() if key not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}


def test_make_dev_all_in_a_terminal_stops_promptly_and_exits_0_on_ctrl_c(database: TestDatabase) -> None:
    """The real target in a real terminal: Ctrl-C reaches the script's group only, not make's."""
    port = free_port()
    master, slave = os.openpty()
    process = subprocess.Popen(
        [sys.executable, "-c", TAKE_TERMINAL, "make", "--no-print-directory", "dev-all"],
        cwd=ROOT,
        env=_outside_make(_dev_all_env(database, port)) | {"TERM": "dumb"},
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
    )
    os.close(slave)
    session = process.pid
    terminal = TerminalOutput(master)
    try:
        wait_until(
            lambda: "Worker starting" in terminal.text and "serving on" in terminal.text,
            what="the API and the worker started",
            seen=lambda: terminal.text,
        )
        wait_until(
            lambda: _healthy(port) or process.poll() is not None, what="/health", seen=lambda: terminal.text
        )
        assert process.poll() is None, terminal.text
        began = time.monotonic()
        os.write(master, b"\x03")  # what the terminal sends for Ctrl-C
        process.wait(timeout=CEILING)
        took = time.monotonic() - began
        wait_until(
            lambda: not _session_processes(session),
            what="every process of the terminal's session gone",
            within=30,
        )
    finally:
        for pid in _session_processes(session):
            os.kill(pid, signal.SIGKILL)
        process.kill()
        process.wait()
        os.close(master)
    assert process.returncode == 0, f"make exited {process.returncode}:\n{terminal.text}"
    assert "Interrupt" not in terminal.text, terminal.text  # make's "*** [Makefile:..] Interrupt"
    assert took < 45, f"took {took:.0f} s to stop (the worker's grace is 90 s):\n{terminal.text}"
    assert "did not finish" not in terminal.text, terminal.text


def test_dev_all_without_a_terminal_stops_both_on_sigterm_and_exits_0(
    database: TestDatabase, tmp_path: Path
) -> None:
    """As a process manager runs it: no terminal, SIGTERM to the script alone."""
    port = free_port()
    log_path = tmp_path / "dev-all.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "scripts/dev_all.py"],
            cwd=ROOT,
            env=_dev_all_env(database, port),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    session = process.pid
    try:
        wait_until(
            lambda: "Worker starting" in log_path.read_text() and "serving on" in log_path.read_text(),
            what="the API and the worker started",
            seen=log_path.read_text,
        )
        wait_until(
            lambda: _healthy(port) or process.poll() is not None, what="/health", seen=log_path.read_text
        )
        assert process.poll() is None, log_path.read_text()
        began = time.monotonic()
        process.terminate()
        process.wait(timeout=CEILING)
        took = time.monotonic() - began
        wait_until(lambda: not _session_processes(session), what="the API and the worker gone", within=30)
    finally:
        for pid in _session_processes(session):
            os.kill(pid, signal.SIGKILL)
    log = log_path.read_text()
    assert process.returncode == 0, log
    assert took < 45, f"took {took:.0f} s to stop (the worker's grace is 90 s):\n{log}"
    assert "did not finish" not in log, log


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
