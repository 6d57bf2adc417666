"""The interpreter benchmarks serve the API with: a virtual environment holding only the runtime
dependencies (`uv sync --no-default-groups`, as the production image installs them).

The development environment also holds the test tools, and some runtime libraries import what
they find: Advanced Alchemy imports numpy (there through matplotlib) and Litestar's plugins look
for pydantic (there through moto). Served from it, an API worker holds about 25 MB that no
deployment has, so memory is measured here instead. Kept in `.data/runtime-venv`; `uv` makes it
from its cache in well under a second once it exists.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_ENV = ROOT / ".data" / "runtime-venv"


def runtime_python() -> str:
    """The runtime environment's Python, synced to the lock file first."""
    uv = subprocess.run(
        [str(ROOT / "scripts" / "ensure-uv.sh")], check=True, capture_output=True, text=True
    ).stdout.strip()
    subprocess.run(
        [uv, "sync", "--frozen", "--no-default-groups", "--quiet"],
        cwd=ROOT,
        env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(RUNTIME_ENV)},
        check=True,
    )
    return str(RUNTIME_ENV / "bin" / "python")
