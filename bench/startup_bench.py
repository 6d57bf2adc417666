"""Start-up benchmark: how long until the app can do its work, measured from process start.

    make bench-startup      # python -m bench.startup_bench [--root DIR] [--runs N]

Three numbers, each the median (and range) of `--runs` process starts, as wall time and as CPU
time (user + system, the process and its children): on a shared, loaded machine the wall time
swings with the load while the CPU time stays close to what the start really costs.

- `import app.main`: the import alone (what every API worker, test and CLI command pays);
- the API: `python -m app.cli serve` until `/health` answers 200 (schema already at head);
- the worker: `python -m app.cli worker` until SAQ logs "Worker starting".

`--root` measures another checkout (its own `.venv`) against the same database, for a
before/after comparison. The database is the embedded server unless `DATABASE_URL` is set.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import psutil

from app.config import get_config
from app.db import setup
from app.db.engine import libpq_dsn

ROOT = Path(__file__).resolve().parent.parent
CEILING = 120.0


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cpu_seconds(process: psutil.Process) -> float:
    total = 0.0
    for member in [process, *process.children(recursive=True)]:
        try:
            times = member.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _time_until(
    command: list[str], root: Path, env: dict[str, str], ready: Callable[[Path], bool], *, kill: bool = False
) -> tuple[float, float]:
    """(wall, CPU) seconds from starting `command` until `ready(log)`; then stop it (SIGKILL with `kill`)."""
    with tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False) as log:
        log_path = Path(log.name)
        began = time.perf_counter()
        process = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        while not ready(log_path):
            if process.poll() is not None:
                raise RuntimeError(f"{command} exited:\n{log_path.read_text()}")
            if time.perf_counter() - began > CEILING:
                raise RuntimeError(f"{command} not ready within {CEILING}s:\n{log_path.read_text()}")
            time.sleep(0.01)
        return time.perf_counter() - began, _cpu_seconds(psutil.Process(process.pid))
    finally:
        # Granian's master stops its workers on SIGTERM; the worker's own shutdown is not measured.
        if kill:
            process.kill()
        else:
            process.terminate()
        process.wait(timeout=CEILING)
        log_path.unlink(missing_ok=True)


def _health_ok(port: int) -> Callable[[Path], bool]:
    def probe(_: Path) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
                return response.status == 200
        except OSError:
            return False

    return probe


def _summary(name: str, samples: list[tuple[float, float]]) -> str:
    walls = [wall for wall, _ in samples]
    cpus = [cpu for _, cpu in samples]
    return (
        f"{name:<36} wall median {statistics.median(walls):5.2f} s (min {min(walls):.2f}, max {max(walls):.2f})"
        f"   CPU median {statistics.median(cpus):5.2f} s (min {min(cpus):.2f})   n={len(samples)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to measure")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    root: Path = args.root.resolve()
    python = str(root / ".venv" / "bin" / "python")

    settings = get_config()
    owner_url = setup.prepare_database(settings.database)  # migrated once, so starts find it at head
    env = {
        **os.environ,
        "DATABASE_URL": libpq_dsn(owner_url),
        "WORKER_SHUTDOWN_GRACE_SECONDS": "0",
    }
    print(f"measuring {root} (load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f})")

    imports = [
        _time_until(
            [python, "-c", "import app.main; print('imported')"],
            root,
            env,
            lambda log: "imported" in log.read_text(),
        )
        for _ in range(args.runs)
    ]
    api = []
    for _ in range(args.runs):
        port = _free_port()
        api.append(
            _time_until(
                [python, "-m", "app.cli", "serve"], root, {**env, "PORT": str(port)}, _health_ok(port)
            )
        )
    worker = [
        _time_until(
            [python, "-m", "app.cli", "worker"],
            root,
            env,
            lambda log: "Worker starting" in log.read_text(),
            kill=True,
        )
        for _ in range(args.runs)
    ]
    for line in (
        _summary("import app.main", imports),
        _summary("API start -> /health 200", api),
        _summary("worker start -> 'Worker starting'", worker),
    ):
        print(line)
    print(f"(load after: {os.getloadavg()[0]:.2f})")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
