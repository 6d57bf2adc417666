"""Bring docker-compose.yml itself up with podman-compose and check it (`make compose-test`).

scripts/compose-test.sh built the images and exports IMAGE, POSTGRES_IMAGE and COMPOSE (the
podman-compose command). The services are the compose file's own, layered with
scripts/compose-smoke.yml, which swaps in the images this machine kind can have. In order:

1. without a secret, compose refuses to start, naming the variable, and creates nothing;
2. db, then migrate (exit 0), then api and worker, each with `up --no-deps` (see below);
3. the API answers /health and /ready (database, schema at head, a worker alive), and the
   image's and the compose file's healthchecks pass;
4. the owner's password is in no long-running service's environment;
5. a registration's verification mail, sent by the worker's job, reaches the dev SMTP sink.

Why the test orders the start itself: podman here is Debian's 4.3.1. podman-compose skips
`condition: service_healthy` below podman 4.6 (it says so: "Ignored db condition check"), and
the `--requires` links it gives podman break once a one-off service has exited: `up -d` creates
api and worker but podman refuses to start them ("depends on container ... not found in input
list", podman-compose issue 683: api -> migrate (exited) -> db). Docker Compose and newer podman
order the same file by its `depends_on` conditions.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import docker_smoke
from docker_smoke import CEILING, fail, free_port, run, step, wait_for

docker_smoke.PREFIX = "compose-test"
ROOT = Path(__file__).resolve().parent.parent
SECRETS = ("SECRET_KEY", "POSTGRES_PASSWORD", "DATABASE_APP_PASSWORD", "DATABASE_SYSTEM_PASSWORD")


class Compose:
    """One compose project: the file, the smoke's image layer, the environment compose reads."""

    def __init__(self) -> None:
        self.project = f"cpcompose{secrets.token_hex(3)}"
        self.api_port = free_port()
        self.env = {
            **os.environ,
            "SECRET_KEY": secrets.token_hex(32),
            "POSTGRES_PASSWORD": secrets.token_hex(16),
            "DATABASE_APP_PASSWORD": secrets.token_hex(16),
            "DATABASE_SYSTEM_PASSWORD": secrets.token_hex(16),
            "API_PORT": str(self.api_port),
            "MAILPIT_UI_PORT": str(free_port()),
            "SMTP_HOST": "mailpit",
            "SMTP_PORT": "1025",
        }
        self.command = [
            *shlex.split(os.environ["COMPOSE"]),
            "--project-name", self.project,
            "-f", str(ROOT / "docker-compose.yml"),
            "-f", str(ROOT / "scripts" / "compose-smoke.yml"),
            "--profile", "dev",
        ]  # fmt: skip

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603
            [*self.command, *args],
            env=env or self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=CEILING,
            check=False,
        )

    def up(self, *services: str) -> None:
        result = self("up", "-d", "--no-deps", *services)
        if result.returncode != 0:
            fail(f"up {' '.join(services)}: exit {result.returncode}\n{result.stdout}\n{result.stderr}")

    def containers(self) -> list[str]:
        listed = run("podman", "ps", "-a", "--filter", f"label=io.podman.compose.project={self.project}",
                     "--format", "{{.Names}}")  # fmt: skip
        return listed.stdout.split()

    def container(self, service: str) -> str:
        listed = run("podman", "ps", "-a", "--filter", f"label=io.podman.compose.project={self.project}",
                     "--filter", f"label=com.docker.compose.service={service}", "--format", "{{.Names}}")  # fmt: skip
        names = listed.stdout.split()
        if len(names) != 1:
            fail(f"expected one container of {service}, found {names}")
        return names[0]

    def logs(self, service: str) -> str:
        result = run("podman", "logs", self.container(service), check=False)
        return result.stdout + result.stderr


def get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except OSError:
        return 0, {}


def refuses_without_secrets(compose: Compose) -> None:
    for variable in SECRETS:
        result = compose(
            "up", "-d", env={key: value for key, value in compose.env.items() if key != variable}
        )
        said = (result.stdout + result.stderr).strip().splitlines()
        if result.returncode == 0 or not any(variable in line for line in said[-3:]):
            fail(f"up without {variable}: exit {result.returncode}\n{result.stdout}\n{result.stderr}")
        if created := compose.containers():
            fail(f"up without {variable} created {created}")
        step(f"without {variable}: exit {result.returncode}, nothing created; {said[-1][:110]}...")


def main() -> None:
    compose = Compose()
    try:
        refuses_without_secrets(compose)

        compose.up("db", "mailpit")
        db = compose.container("db")
        wait_for(
            lambda: run("podman", "healthcheck", "run", db, check=False).returncode == 0,
            "the db's healthcheck (pg_isready)",
            lambda: compose.logs("db"),
        )
        step("db is up; its compose healthcheck (pg_isready) passes")

        compose.up("migrate")
        migrated = run("podman", "wait", compose.container("migrate"), timeout=CEILING).stdout.strip()
        migrate_log = compose.logs("migrate")
        if migrated != "0":
            fail(f"migrate exited {migrated}:\n{migrate_log}")
        step(f"migrate ran {migrate_log.count('Running upgrade')} migrations as the owner and exited 0")

        compose.up("api", "worker")
        url = f"http://127.0.0.1:{compose.api_port}"
        wait_for(lambda: get(f"{url}/health")[0] == 200, "the API's /health", lambda: compose.logs("api"))
        ready = wait_for(
            lambda: (answer := get(f"{url}/ready"))[0] == 200 and answer[1],
            "/ready (database, schema at head, a worker alive)",
            lambda: f"{get(f'{url}/ready')}\n{compose.logs('worker')}",
        )
        step(f"API answers {url}/health (200) and /ready (200: {ready})")
        for service in ("api", "worker"):
            name = compose.container(service)
            wait_for(
                lambda name=name: run("podman", "healthcheck", "run", name, check=False).returncode == 0,
                f"the {service}'s healthcheck",
                lambda service=service: compose.logs(service),
            )
        step("the api's (image: GET /health) and the worker's (compose: worker-alive) healthchecks pass")

        owner_password = compose.env["POSTGRES_PASSWORD"]
        for service in ("api", "worker"):
            environment = run(
                "podman", "inspect", compose.container(service), "--format", "{{.Config.Env}}"
            ).stdout
            if owner_password in environment:
                fail(f"the {service} service carries the owner's password")
        step("neither api nor worker carries the owner's password")

        email = f"compose-{compose.project}@example.com"
        body = json.dumps({"email": email, "password": "a long smoke password", "name": "Compose"}).encode()
        request = urllib.request.Request(  # noqa: S310
            f"{url}/api/auth/register", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            if response.status != 201:
                fail(f"register: {response.status}")
        wait_for(
            lambda: f"To: {email}" in compose.logs("mailpit"),
            f"the verification mail to {email} in the SMTP sink",
            lambda: compose.logs("worker")[-3000:],
        )
        step("worker ran the mail job: the verification mail reached the compose file's SMTP sink")
        step("PASSED")
    finally:
        compose("down", "-v", "-t", "10")


if __name__ == "__main__":
    main()
