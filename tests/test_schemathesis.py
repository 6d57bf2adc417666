"""Schemathesis over every operation of the OpenAPI, against a real Granian process on the
test database, with real ids: zero 5xx and zero responses outside the schema.

Bounded (`EXAMPLES` per operation) so it stays well under a minute or two on this machine.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.background import free_port
from tests.database import TestDatabase
from tests.world import World, build_world

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "6"))
from tests.waiting import CEILING as CEILING_SECONDS  # noqa: E402

SESSION_ENDING = {"Logout", "ChangePassword"}


@pytest.fixture
def api_server(database: TestDatabase) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "APP_ENV": "test",
        "DATABASE_URL": database.owner_url.render_as_string(hide_password=False),
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "8192",
        "LOGIN_MAX_FAILURES_PER_ADDRESS": "100000",
    }
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"cp-api-{os.getpid()}-{port}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "granian",
                "--interface",
                "asgi",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "app.main:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + CEILING_SECONDS
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the API did not start:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


PROBES = frozenset({"Health", "Ready"})
"""Operations whose 503 is a documented state (the database or a worker is away), checked for
status code and schema conformance only."""


def _order(operation: Any) -> tuple[int, str]:
    """Deletes last (and the team's own delete at the very end), so earlier ones keep real ids."""
    if operation.definition.raw.get("operationId") == "DeleteTeam":
        return (2, "")
    return (1 if operation.method.upper() == "DELETE" else 0, operation.label)


def _check_for(
    operation: Any,
    operation_id: str,
    headers: dict[str, str],
    *,
    base: str,
    world: World,
    calls: dict[str, int],
    checks: list[Any],
) -> Any:
    from hypothesis import HealthCheck, Phase, given, settings

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),  # pyright: ignore[reportArgumentType]
    )
    def check(case: Any) -> None:
        if case.path_parameters:
            case.path_parameters = {k: world.ids.get(k, v) for k, v in case.path_parameters.items()}
        calls[operation_id] = calls.get(operation_id, 0) + 1
        case.call_and_validate(base_url=base, headers=headers, checks=checks)

    return check


def run_schemathesis(base: str, world: World) -> tuple[list[str], dict[str, int]]:
    import schemathesis
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    schema = schemathesis.openapi.from_url(f"{base}/schema/openapi.json")
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=_order)  # pyright: ignore[reportAttributeAccessIssue]
    failures: list[str] = []
    calls: dict[str, int] = {}
    for operation in operations:
        operation_id = operation.definition.raw.get("operationId", operation.label)
        client = world.bystander if operation_id in SESSION_ENDING else world.owner
        headers = {"Authorization": f"Bearer {client.token}"}

        # A probe's 503 is its documented answer (no worker beside this server), not a crash.
        own_checks = [c for c in checks if c is not not_a_server_error] if operation_id in PROBES else checks
        check = _check_for(
            operation, operation_id, headers, base=base, world=world, calls=calls, checks=own_checks
        )
        try:
            check()
        except Exception as exc:
            failures.append(f"{operation_id}: {str(exc)[:1500]}")
    return failures, calls


async def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    api_server: str, client_for
) -> None:
    world = await build_world(client_for)
    failures, calls = await asyncio.to_thread(run_schemathesis, api_server, world)
    if failures:  # no traceback rendering: the findings are the message (and Hypothesis' are deep)
        pytest.fail("\n\n".join(failures), pytrace=False)
    assert len(calls) >= 50, sorted(calls)  # every operation was exercised
    assert all(count >= 1 for count in calls.values())
