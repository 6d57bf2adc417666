"""Behind PgBouncer in transaction mode (Debian's, 1.18: no prepared statements kept).

The tenant context is transaction-local, so a pooled server connection never carries one
request's team to the next; these tests prove it with a real PgBouncer in front of the test
database: the row-level security and guest tests run through it (a child pytest whose app
engine connects through the pooler), and two API processes and two workers share it.
`LISTEN` and SAQ's queue stay on the direct `DATABASE_URL`.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import URL

from app.config import ConfigError, get_config
from tests.background import ROOT, ApiProcess, SmtpSink, WorkerProcess, free_port, start_smtp_sink
from tests.database import TestDatabase
from tests.waiting import CEILING, wait_until

PASSWORD = "a sturdy passphrase"


def _pgbouncer_binary() -> str:
    found = shutil.which("pgbouncer") or next(
        (path for path in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.access(path, os.X_OK)), None
    )
    if found:
        return found
    message = "pgbouncer is not installed: scripts/ensure-test-tools.sh installs it as root (apt-get install pgbouncer)"
    if os.environ.get("REQUIRE_NODE_TESTS") == "1" or os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class PgBouncer:
    port: int
    directory: Path
    process: subprocess.Popen[bytes]

    def url(self, database: str) -> str:
        return f"postgresql://127.0.0.1:{self.port}/{database}"

    def log(self) -> str:
        path = self.directory / "pgbouncer.log"
        return path.read_text() if path.exists() else ""


def _server_address(server_url: URL) -> tuple[str, int]:
    host = server_url.host or str(server_url.query.get("host", ""))
    return host, server_url.port or 5432


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def pgbouncer(database: TestDatabase) -> Iterator[PgBouncer]:
    binary = _pgbouncer_binary()
    settings = get_config({"DATABASE_URL": database.owner_url.render_as_string(hide_password=False)}).database
    directory = Path(tempfile.mkdtemp(prefix="cp-pgbouncer-"))
    directory.chmod(0o755)  # read by the unprivileged user pgbouncer runs as under root
    host, server_port = _server_address(database.server_url)
    port = free_port()
    (directory / "users.txt").write_text(f'"{settings.app_user}" "{settings.app_password or ""}"\n')
    # A small pool, so the suite's many client connections share few server connections.
    (directory / "pgbouncer.ini").write_text(
        "\n".join(
            [
                "[databases]",
                f"* = host={host} port={server_port}",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {port}",
                "unix_socket_dir =",
                "auth_type = trust",
                f"auth_file = {directory / 'users.txt'}",
                "pool_mode = transaction",
                "default_pool_size = 4",
                "max_client_conn = 500",
                "server_reset_query =",
                "log_connections = 1",
                f"logfile = {directory / 'pgbouncer.log'}",
                "",
            ]
        )
    )
    for name in ("users.txt", "pgbouncer.ini"):
        (directory / name).chmod(0o644)
    command = [binary, str(directory / "pgbouncer.ini")]
    if os.geteuid() == 0:  # pgbouncer refuses to run as root
        user = "embedded_postgres" if _user_exists("embedded_postgres") else "nobody"
        command[1:1] = ["-u", user]
        shutil.chown(directory, user=user)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    bouncer = PgBouncer(port=port, directory=directory, process=process)
    try:

        def listening() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"pgbouncer exited early:\n{bouncer.log()}")
            return _accepts(port)

        wait_until(listening, what="pgbouncer's port", seen=bouncer.log)
        yield bouncer
    finally:
        process.terminate()
        try:
            process.wait(timeout=CEILING)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=CEILING)
        shutil.rmtree(directory, ignore_errors=True)


def _user_exists(name: str) -> bool:
    return subprocess.run(["id", name], capture_output=True, check=False).returncode == 0


def _logins(bouncer: PgBouncer, database: str) -> int:
    return bouncer.log().count(f"login attempt: db={database} user=campaign_app")


def test_the_isolation_and_tenant_context_tests_pass_through_pgbouncer(
    pgbouncer: PgBouncer, database: TestDatabase
) -> None:
    """A child pytest makes its own test database on the same server and runs the RLS and guest
    suites with the app's engine through the pooler (`TEST_DATABASE_POOLER_URL`, read by
    `tests/conftest.py`); the owner's checks and the migration stay direct."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_XDIST", "PYTEST_CURRENT")) and key != "COV_CORE_SOURCE"
    }
    env["DATABASE_URL"] = database.server_url.render_as_string(hide_password=False)
    env["TEST_DATABASE_POOLER_URL"] = f"postgresql://127.0.0.1:{pgbouncer.port}/"
    env["PYTEST_XDIST_WORKER"] = "pgbouncer"  # names the child's database, so its logins can be found
    before = pgbouncer.log().count("login attempt: db=cp_test_pgbouncer_")
    child = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            "-n",
            "0",
            "-q",
            "tests/test_rls.py",
            "tests/test_guests.py",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert child.returncode == 0, child.stdout[-6000:] + child.stderr[-3000:]
    assert " passed" in child.stdout
    assert pgbouncer.log().count("login attempt: db=cp_test_pgbouncer_") > before, (
        "the child's app did not connect through pgbouncer:\n" + pgbouncer.log()[-3000:]
    )


def test_two_apis_and_two_workers_share_one_pgbouncer(pgbouncer: PgBouncer, database: TestDatabase) -> None:
    pooled = {"DATABASE_POOLER": "transaction", "DATABASE_POOLER_URL": pgbouncer.url(database.name)}
    sink, controller = start_smtp_sink()
    apis = [ApiProcess(database, env=pooled) for _ in range(2)]
    workers = [WorkerProcess(database, smtp_port=sink.port, env=pooled) for _ in range(2)]
    try:
        for api in apis:
            api.launch()
        for worker in workers:
            worker.start()
        for api in apis:
            api.wait_ready()
        _registrations_reach_the_workers_through_both_apis(apis, sink)
        _teams_stay_apart_whichever_api_and_server_connection_serves_them(apis)
        # Both APIs log in through it, and so does every worker that ran a job (which worker
        # takes which job is SAQ's choice, so at least one of the two).
        assert _logins(pgbouncer, database.name) >= 3, pgbouncer.log()[-3000:]
    finally:
        WorkerProcess.stop_all(workers)
        for api in apis:
            api.stop()
        controller.stop()


def _registrations_reach_the_workers_through_both_apis(apis: list[ApiProcess], sink: SmtpSink) -> None:
    for index in range(4):
        api = apis[index % 2]
        response = httpx.post(
            f"{api.base_url}/api/auth/register",
            json={"email": f"pooled{index}@example.com", "password": PASSWORD, "name": f"Pooled {index}"},
            timeout=CEILING,
        )
        assert response.status_code == 201, response.text
    for index in range(4):
        sink.wait_for(f"pooled{index}@example.com")


def _token(api: ApiProcess, email: str) -> dict[str, str]:
    response = httpx.post(
        f"{api.base_url}/api/auth/login", json={"email": email, "password": PASSWORD}, timeout=CEILING
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _teams_stay_apart_whichever_api_and_server_connection_serves_them(apis: list[ApiProcess]) -> None:
    first, second = apis
    ada, bob = _token(first, "pooled0@example.com"), _token(second, "pooled1@example.com")
    teams = {}
    for name, headers, api in (("Ada's", ada, first), ("Bob's", bob, second)):
        created = httpx.post(
            f"{api.base_url}/api/teams", json={"name": name}, headers=headers, timeout=CEILING
        )
        assert created.status_code == 201, created.text
        teams[name] = created.json()["id"]
    for round_ in range(10):  # many transactions, interleaved, over 4 shared server connections
        for name, headers in (("Ada's", ada), ("Bob's", bob)):
            api = apis[round_ % 2]
            team_id = teams[name]
            brand = httpx.post(
                f"{api.base_url}/api/teams/{team_id}/brands",
                json={"name": f"{name} brand {round_}"},
                headers=headers,
                timeout=CEILING,
            )
            assert brand.status_code == 201, brand.text
    for name, headers, other in (("Ada's", ada, "Bob's"), ("Bob's", bob, "Ada's")):
        for api in apis:
            own = httpx.get(
                f"{api.base_url}/api/teams/{teams[name]}/brands?limit=100", headers=headers, timeout=CEILING
            )
            assert own.status_code == 200, own.text
            assert sorted(item["name"] for item in own.json()["items"]) == sorted(
                f"{name} brand {round_}" for round_ in range(10)
            )
            foreign = httpx.get(
                f"{api.base_url}/api/teams/{teams[other]}/brands", headers=headers, timeout=CEILING
            )
            assert foreign.status_code == 404, foreign.text


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_POOLER": "session"}, "DATABASE_POOLER must be none or transaction"),
        ({"DATABASE_POOLER": "transaction"}, "DATABASE_POOLER_URL must name the pooler"),
        ({"DATABASE_POOLER_URL": "postgresql://127.0.0.1:6432/db"}, "set DATABASE_POOLER=transaction"),
        (
            {"DATABASE_POOLER": "transaction", "DATABASE_POOLER_URL": "mysql://127.0.0.1/db"},
            "DATABASE_POOLER_URL must be a postgresql:// URL",
        ),
    ],
)
def test_pooler_settings_are_checked(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        get_config({"DATABASE_URL": "postgresql://owner@127.0.0.1:5432/app", **env})


def test_only_the_app_roles_engine_goes_through_the_pooler() -> None:
    settings = get_config(
        {
            "DATABASE_URL": "postgresql://owner:secret@db.internal:5432/app",
            "DATABASE_APP_PASSWORD": "app-secret",
            "DATABASE_POOLER": "transaction",
            "DATABASE_POOLER_URL": "postgresql://ignored@pgbouncer:6432/app",
        }
    ).database
    assert settings.owner_url is not None
    through = settings.engine_url_from(settings.owner_url)
    assert (through.host, through.port, through.username, through.password) == (
        "pgbouncer",
        6432,
        "campaign_app",
        "app-secret",
    )
    direct = settings.app_url_from(settings.owner_url)  # LISTEN and SAQ's queue use this one
    assert (direct.host, direct.port) == ("db.internal", 5432)
