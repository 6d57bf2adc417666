"""`make bench-memory`: the API worker's memory over ten minutes of mixed load.

    make bench-memory                 # BENCH_SOAK_MINUTES=10, BENCH_SOAK_SLICE=10 (seconds)

Starts the API as `make bench` does (`python -m app.cli serve`, one Granian worker, the
runtime-only environment, the bench data) and drives it with wrk through every read of the bench
and CreateBrand in turn, one slice each, until the time is up. After every slice it samples the
worker: RSS (what the goal names), USS (the pages only this process holds: RSS less the shared
libraries' and the interpreter's file pages, which every worker on the host shares) and the
Granian master's RSS. It prints the series, the floor (the same interpreter importing `app.main`
and nothing else) and the growth after the first minute, and writes
`bench/results/memory-<time>.json`.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from app.config import PROJECT_ROOT
from bench.data import BenchData, ensure_data
from bench.run import (
    _LUA_POST,  # pyright: ignore[reportPrivateUsage]
    API_PORT,
    RESULTS,
    Endpoint,
    bench_environment,
    bench_token,
    endpoints,
    ensure_wrk,
    load_average,
    start_api,
    stop_bench_database,
    stop_servers,
    wait_api_ready,
    wrk,
)
from bench.runtime_env import runtime_python

MINUTES = float(os.environ.get("BENCH_SOAK_MINUTES", "10"))
SLICE_SECONDS = int(os.environ.get("BENCH_SOAK_SLICE", "10"))
MB = 2**20


def worker_memory(api: subprocess.Popen[bytes]) -> dict[str, float]:
    """The Granian worker's RSS and USS and the master's RSS, in MB."""
    master = psutil.Process(api.pid)
    worker = max(master.children(recursive=True), key=lambda p: p.memory_info().rss)
    full = worker.memory_full_info()
    return {
        "worker_rss": full.rss / MB,
        "worker_uss": full.uss / MB,
        "master_rss": master.memory_info().rss / MB,
    }


def import_floor(python: str, env: dict[str, str]) -> dict[str, float]:
    """RSS and USS of the runtime interpreter once it has imported the application, nothing more."""
    probe = (  # psutil is a development tool, not in the runtime environment: /proc directly
        "import app.main, re; t = open('/proc/self/smaps_rollup').read(); "
        "kb = lambda k: int(re.search(k + r':\\s+(\\d+)', t).group(1)); "
        "print(kb('Rss') / 1024, (kb('Private_Clean') + kb('Private_Dirty')) / 1024)"
    )
    out = subprocess.run(
        [python, "-c", probe], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    rss, uss = (float(part) for part in out.split())
    return {"rss": rss, "uss": uss}


def main() -> None:
    ensure_wrk()
    bench = bench_environment()
    try:
        data = asyncio.run(ensure_data(bench.owner_dsn))
        token = bench_token(bench.settings, data)
        points = [p for p in endpoints(data) if p.method in ("GET", "POST")]  # reads and CreateBrand
        python = runtime_python()
        floor = import_floor(python, bench.env)
        print(
            f"import floor (runtime interpreter, app.main imported): RSS {floor['rss']:.0f} MB, USS {floor['uss']:.0f} MB"
        )
        samples = _soak(python, bench.env, token, data, points)
    finally:
        stop_bench_database(bench.env)
    _report(floor, samples)


def _soak(
    python: str, env: dict[str, str], token: str, data: BenchData, points: list[Endpoint]
) -> list[dict[str, Any]]:
    api = start_api(python, env)
    samples: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as workdir:
        post_script = Path(workdir) / "post.lua"
        post_script.write_text(_LUA_POST)
        try:
            wait_api_ready(token, data)
            began = time.monotonic()
            samples.append({"seconds": 0.0, "after": "start", **worker_memory(api)})
            _print(samples[-1])
            slice_index = 0
            while time.monotonic() - began < MINUTES * 60:
                point = points[slice_index % len(points)]
                script = str(post_script) if point.method == "POST" else None
                rps, _, _ = wrk(f"http://127.0.0.1:{API_PORT}{point.path}", token, SLICE_SECONDS, script)
                slice_index += 1
                sample = {
                    "seconds": round(time.monotonic() - began, 1),
                    "after": point.name,
                    "rps": rps,
                    "load": load_average(),
                    **worker_memory(api),
                }
                samples.append(sample)
                _print(sample)
        finally:
            stop_servers(api)
    return samples


def _print(sample: dict[str, Any]) -> None:
    extra = f"  {sample['rps']:7.0f} req/s  load {sample['load']:.1f}" if "rps" in sample else ""
    print(
        f"{sample['seconds']:6.0f} s  {sample['after']:<26} worker RSS {sample['worker_rss']:6.1f} MB  "
        f"USS {sample['worker_uss']:6.1f} MB  master {sample['master_rss']:5.1f} MB{extra}",
        flush=True,
    )


def _report(floor: dict[str, float], samples: list[dict[str, Any]]) -> None:
    after_minute = next((s for s in samples if s["seconds"] >= 60), samples[-1])
    last = samples[-1]
    peak = max(s["worker_rss"] for s in samples)
    print(
        f"\nworker RSS: {samples[0]['worker_rss']:.0f} MB at start, {after_minute['worker_rss']:.0f} MB after the "
        f"first minute, {last['worker_rss']:.0f} MB at {last['seconds'] / 60:.1f} min (peak {peak:.0f}); "
        f"USS {samples[0]['worker_uss']:.0f} -> {after_minute['worker_uss']:.0f} -> {last['worker_uss']:.0f} MB; "
        f"growth after the first minute {last['worker_rss'] - after_minute['worker_rss']:+.1f} MB RSS; "
        f"master {last['master_rss']:.0f} MB"
    )
    stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%S%z")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"memory-{stamp}.json"
    path.write_text(
        json.dumps(
            {
                "minutes": MINUTES,
                "slice_seconds": SLICE_SECONDS,
                "import_floor_mb": floor,
                "samples": samples,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {path.relative_to(RESULTS.parent.parent)}")


if __name__ == "__main__":
    main()
