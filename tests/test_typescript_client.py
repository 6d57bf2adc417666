"""The frontend's contract, proven with the frontend's own tools (clients/typescript).

- the committed openapi.json and generated client are what `make codegen` makes today;
- the client and its tests compile under `tsc --strict`;
- `@redocly/cli lint` finds no error in the document;
- the TypeScript end-to-end test drives a live API process through the generated SDK only;
- the browser test drives the system Chromium through Swagger UI and /saq.

They need Node.js (and Chromium for the browser test). Where `node` is missing they skip with
a message; CI (.ci/run) installs both and sets REQUIRE_NODE_TESTS=1, so there a missing tool
fails instead of skipping.
"""

from __future__ import annotations

import asyncio
import fcntl
import filecmp
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command

from app.config import get_config
from app.db import setup
from tests.background import ROOT, ApiProcess
from tests.database import TestDatabase, drop_test_database

CLIENT = ROOT / "clients" / "typescript"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
NODE_STEP_SECONDS = 600

REQUIRED = os.environ.get("REQUIRE_NODE_TESTS") == "1"

pytestmark = pytest.mark.timeout(900)


def _missing(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason} (REQUIRE_NODE_TESTS=1: CI must run these tests)")
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def _node_on_path() -> None:
    """Before the session fixtures that run npm: skip (or, in CI, fail) without Node.js."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        _missing("Node.js and npm are not on PATH: the TypeScript client tests need them (CI installs them)")


def _run(
    *command: str, env: dict[str, str] | None = None, cwd: Path = CLIENT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=NODE_STEP_SECONDS,
        check=False,
    )


def _must(result: subprocess.CompletedProcess[str], what: str) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"{what} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result


class _Lock:
    """One process at a time installs and compiles (two xdist workers share clients/typescript)."""

    def __init__(self, name: str) -> None:
        self.path = CLIENT / f".{name}.lock"

    def __enter__(self) -> None:
        self.file = self.path.open("w")
        fcntl.flock(self.file, fcntl.LOCK_EX)

    def __exit__(self, *_: object) -> None:
        fcntl.flock(self.file, fcntl.LOCK_UN)
        self.file.close()


@pytest.fixture(scope="session")
def node_packages() -> Path:
    """`npm ci` from the committed lock file, unless node_modules already matches it."""
    with _Lock("npm"):
        marker = CLIENT / "node_modules" / ".package-lock.json"
        lock = CLIENT / "package-lock.json"
        if not marker.exists() or marker.stat().st_mtime < lock.stat().st_mtime:
            _must(_run("npm", "ci", "--no-audit", "--no-fund"), "npm ci")
    return CLIENT / "node_modules"


@pytest.fixture(scope="session")
def compiled_client(node_packages: Path) -> subprocess.CompletedProcess[str]:
    """`tsc -p tsconfig.json` (strict) over the generated client and the tests, into build/."""
    with _Lock("tsc"):
        return _run("npx", "--no-install", "tsc", "-p", "tsconfig.json")


@pytest.fixture(scope="module")
def api_server(database: TestDatabase) -> Iterator[ApiProcess]:
    """A Granian process on a free port, against a fresh database of its own (migrated here first)."""
    name = f"{database.name}_api_{uuid.uuid4().hex[:6]}"
    owner_url = asyncio.run(setup.ensure_database(database.server_url, name))
    api_database = TestDatabase(
        owner_url=owner_url, server_url=database.server_url, name=name, embedded_dir=database.embedded_dir
    )
    settings = get_config({"DATABASE_URL": owner_url.render_as_string(hide_password=False)}).database
    asyncio.run(setup.ensure_roles(owner_url, settings))
    config = setup.alembic_config(owner_url, settings)
    config.attributes["skip_logging_setup"] = True
    command.upgrade(config, "head")  # here, so the server's own start finds the schema at head
    server = ApiProcess(
        api_database, env={"APP_ENV": "dev", "ARGON2_TIME_COST": "1", "ARGON2_MEMORY_KIB": "8192"}
    )
    try:
        yield server.start()
    finally:
        server.stop()
        asyncio.run(drop_test_database(api_database))


def _tree_differences(expected: Path, actual: Path) -> list[str]:
    comparison = filecmp.dircmp(expected, actual)
    differences = [*comparison.left_only, *comparison.right_only, *comparison.diff_files]
    for sub in comparison.common_dirs:
        differences += [f"{sub}/{name}" for name in _tree_differences(expected / sub, actual / sub)]
    return differences


def test_committed_openapi_and_client_are_what_codegen_makes(node_packages: Path, tmp_path: Path) -> None:
    exported = tmp_path / "openapi.json"
    _must(_run(sys.executable, "-m", "app.cli", "openapi", "--output", str(exported), cwd=ROOT), "the export")
    assert exported.read_text() == (CLIENT / "openapi.json").read_text(), (
        "clients/typescript/openapi.json is stale: run `make codegen` and commit the result"
    )
    generated = tmp_path / "src"
    _must(
        _run(
            "npx",
            "--no-install",
            "openapi-ts",
            env={"OPENAPI_TS_INPUT": str(exported), "OPENAPI_TS_OUTPUT": str(generated)},
        ),
        "openapi-ts",
    )
    assert _tree_differences(CLIENT / "src", generated) == [], (
        "clients/typescript/src differs from what openapi-ts generates: run `make codegen` and commit the result"
    )


def test_client_and_tests_compile_under_strict_typescript(
    compiled_client: subprocess.CompletedProcess[str],
) -> None:
    _must(compiled_client, "tsc --strict")


def test_openapi_document_passes_redocly_lint(node_packages: Path) -> None:
    result = _run(
        "npx",
        "--no-install",
        "redocly",
        "lint",
        "openapi.json",
        "--config",
        "redocly.yaml",
        "--format=summary",
    )
    _must(result, "redocly lint")
    assert "error" not in result.stdout.replace("0 errors", ""), result.stdout


def _node_test(compiled: subprocess.CompletedProcess[str], server: ApiProcess, test_file: str) -> None:
    _must(compiled, "tsc --strict")
    result = _run(
        "node",
        # Node 20 has the standard WebSocket (the one a browser frontend uses) behind this flag;
        # Node 22 has it by default and still accepts the flag.
        "--experimental-websocket",
        "--test",
        "--test-reporter=spec",
        f"build/tests/{test_file}",
        env={"API_BASE_URL": server.base_url, "CHROMIUM_PATH": str(CHROMIUM)},
    )
    assert result.returncode == 0, (
        f"node --test {test_file}:\n{result.stdout}\n{result.stderr}\n--- API log ---\n{server.log()[-4000:]}"
    )
    sys.stdout.write(result.stdout)  # the steps node ran (`pytest -rP` shows them)


def test_typescript_end_to_end_through_the_generated_sdk(
    compiled_client: subprocess.CompletedProcess[str], api_server: ApiProcess
) -> None:
    _node_test(compiled_client, api_server, "e2e.test.js")


def test_browser_swagger_ui_and_job_ui_in_chromium(
    compiled_client: subprocess.CompletedProcess[str], api_server: ApiProcess
) -> None:
    if not CHROMIUM.exists():
        _missing(f"no Chromium at {CHROMIUM} (apt-get install chromium; CI does)")
    _node_test(compiled_client, api_server, "browser.test.js")
